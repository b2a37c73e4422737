//! The pacer: one thread that sends the frames of every relay's player when they are due.
//!
//! # Why a thread of its own
//!
//! A player's frame is due every 20 ms. Woken by a timer in its relay's task, it waits in
//! the runtime's queue behind every relay whose packets arrived meanwhile: with a thousand
//! callers in a queue, each sending RTP that its relay task reads, that queue is a thousand
//! tasks deep and a frame could leave milliseconds late — and every frame cost a task
//! wake-up. So the players' timing is the pacer's: one thread, sleeping until the earliest
//! frame due (on a 1 ms grid, so at most a thousand wake-ups a second however many players
//! there are), which sends every frame due then, back to back, and sleeps again. The relay
//! tasks wake only for packets and commands.
//!
//! # Sharing a stream
//!
//! A relay that plays shares one [`Stream`] with the pacer, behind a mutex: the player, a
//! handle on side A's RTP socket, and where the caller is. The relay's task locks it to
//! carry out the switch's commands (`Play`, `Music`, `StopPlaying`, `Bridge`) and when
//! side A's address changes, then [`Pacer::schedule`]s it; the pacer locks it to send what
//! is due. Neither holds the lock across a wait, and both lock a stream a few times per
//! frame at most, so the lock is uncontended in practice.
//!
//! # Never waiting for an ordinary thread
//!
//! The pacer runs at a real-time priority; the relays' tasks and the runtimes' workers do
//! not. Any lock the pacer shared with them could be held by one of them when the kernel
//! preempts it — and the pacer would wait until that thread got a core again, its priority
//! inverted. So the pacer takes no such lock: it only `try_lock`s a stream (one found
//! locked is tried again one step later); streams reach it through a lock-free queue, and
//! it sleeps and is woken with `park`/`unpark` (a futex on an atomic); the plays it sees
//! finish go through another lock-free queue to an ordinary thread that sends the
//! [`MediaEvent::PlayFinished`] events (waking a task takes the runtime's locks).
//!
//! The pacer keeps a heap of (due, stream). A stream is in the heap at most once for real:
//! [`Stream::queued`] is the due time of its live entry; an entry whose time is not that is
//! stale (the stream was rescheduled earlier since) and is dropped when it comes up. A
//! stream that falls silent, loses its caller's address or is closed is not queued again;
//! scheduling it brings it back.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbar_media::{MediaEvent, Player, PlayerEvent, RelayId};
use crossbeam_queue::SegQueue;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

use super::forward::now;

/// The pacer's wake-ups fall on this grid: a frame leaves at most this long after it is
/// due, and the pacer wakes at most once per step.
const STEP: Duration = Duration::from_millis(1);

/// One relay's player as the pacer and the relay's task share it (see the module
/// documentation).
pub(super) struct Stream {
    id: RelayId,
    pub player: Player,
    /// Side A's RTP socket, which the frames leave from; `None` once the relay closes.
    socket: Option<Arc<UdpSocket>>,
    /// Where the caller is; while unknown the player is held (nothing is sent, nothing is
    /// skipped).
    to: Option<SocketAddr>,
    /// When the last frame went out: activity for the relay's inactivity timer.
    last_sent: Option<Instant>,
    /// Due time of this stream's live entry in the pacer's heap.
    queued: Option<Instant>,
}

/// A [`Stream`] shared between a relay's task and the pacer.
pub(super) type SharedStream = Arc<Mutex<Stream>>;

/// Locks a stream. A panic while it was locked leaves a player that is still consistent
/// (every mutation of it is a plain field update), so poisoning is ignored.
pub(super) fn lock(stream: &SharedStream) -> MutexGuard<'_, Stream> {
    stream.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Stream {
    /// A stream for relay `id` whose frames leave from `socket` (side A's RTP socket).
    pub fn shared(id: RelayId, player: Player, socket: Arc<UdpSocket>) -> SharedStream {
        Arc::new(Mutex::new(Stream {
            id,
            player,
            socket: Some(socket),
            to: None,
            last_sent: None,
            queued: None,
        }))
    }

    /// Side A's address, where the frames go (`None`: held).
    pub fn set_destination(&mut self, to: Option<SocketAddr>) {
        self.to = to;
    }

    /// When the last frame went out.
    pub fn last_sent(&self) -> Option<Instant> {
        self.last_sent
    }

    /// The relay is closing: the stream sends nothing more and lets go of the socket, so
    /// the relay's task drops it last.
    pub fn close(&mut self) {
        self.socket = None;
        self.player.stop();
    }

    /// When the next frame should go out: `None` while nothing sounds, the caller's address
    /// is unknown or the relay is closed.
    fn want(&self) -> Option<Instant> {
        self.socket.as_ref()?;
        self.to?;
        self.player.poll_timeout()
    }

    /// Sends the frames due at `now`; whether a play has just finished.
    fn send_due(&mut self, now: Instant) -> bool {
        let (Some(socket), Some(to)) = (self.socket.as_ref(), self.to) else {
            return false;
        };
        while let Some(packet) = self.player.poll_transmit(now) {
            self.last_sent = Some(now);
            if let Err(error) = socket.try_send_to(packet, to) {
                tracing::trace!(relay = %self.id, %error, %to, "prompt packet not sent");
            }
        }
        self.player.poll_event() == Some(PlayerEvent::Finished)
    }

    /// Reports [`MediaEvent::PlayFinished`] if the last play has just finished.
    pub fn report_finished(&mut self, events: &UnboundedSender<MediaEvent>) {
        if let Some(PlayerEvent::Finished) = self.player.poll_event() {
            tracing::debug!(relay = %self.id, "play finished");
            let _ = events.send(MediaEvent::PlayFinished { id: self.id });
        }
    }
}

/// Hands streams to the pacer. Cloned into every relay's task.
#[derive(Clone)]
pub(super) struct Pacer {
    inbox: Arc<Inbox>,
    /// The pacer's thread, woken (`unpark`) when a stream is handed over.
    thread: Thread,
}

/// What the relays' tasks hand the pacer: a lock-free queue (see the module documentation).
struct Inbox {
    entries: SegQueue<Entry>,
}

/// Plays the pacer has seen finish, for the reporting thread to turn into events.
struct Finished {
    relays: SegQueue<RelayId>,
    /// The pacer has ended: report what is left and end.
    done: AtomicBool,
}

impl Pacer {
    /// Starts the pacer's thread, under `SCHED_FIFO` priority `priority` if the system
    /// allows it (0: the normal scheduler), and the thread that reports finished plays on
    /// `events`; both end once the last `Pacer` handle is dropped.
    pub fn start(events: UnboundedSender<MediaEvent>, priority: u8) -> Pacer {
        let inbox = Arc::new(Inbox {
            entries: SegQueue::new(),
        });
        let finished = Arc::new(Finished {
            relays: SegQueue::new(),
            done: AtomicBool::new(false),
        });
        let reporter = {
            let finished = Arc::clone(&finished);
            std::thread::Builder::new()
                .name("crossbar-pacer-events".into())
                .spawn(move || report(&finished, &events))
                .expect(
                    "the pacer's reporting thread starts: threads are not exhausted at start-up",
                )
        };
        let pacer = {
            let inbox = Arc::downgrade(&inbox);
            let reporter = reporter.thread().clone();
            std::thread::Builder::new()
                .name("crossbar-pacer".into())
                .spawn(move || {
                    if priority > 0 {
                        take_priority(priority);
                    }
                    run(&inbox, &finished, &reporter);
                    finished.done.store(true, AtomicOrdering::Release);
                    reporter.unpark();
                })
                .expect("the pacer thread starts: threads are not exhausted at start-up")
        };
        Pacer {
            inbox,
            thread: pacer.thread().clone(),
        }
    }

    /// Puts `stream` (locked by the caller as `locked`) in the pacer's hands again after a
    /// change: a play, the music, the caller's address. Only a stream whose next frame is
    /// due sooner than its live entry is handed over.
    pub fn schedule(&self, stream: &SharedStream, locked: &mut Stream) {
        let Some(due) = locked.want() else {
            return;
        };
        if locked.queued.is_some_and(|queued| queued <= due) {
            return;
        }
        locked.queued = Some(due);
        self.inbox.entries.push(Entry {
            due,
            stream: Arc::clone(stream),
        });
        self.thread.unpark();
    }
}

/// A stream's place in the pacer's heap.
struct Entry {
    due: Instant,
    stream: SharedStream,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.due == other.due
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed: the heap's top is the earliest.
    fn cmp(&self, other: &Entry) -> Ordering {
        other.due.cmp(&self.due)
    }
}

/// How long the pacer sleeps when no stream sounds, before it looks whether its handles are
/// all gone (a new stream wakes it at once).
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The pacer's loop: takes the streams handed over, sends what is due, sleeps until the
/// earliest due time (rounded up to the grid) or until a relay's task wakes it; ends once
/// every [`Pacer`] handle is gone.
///
/// Nothing here waits for a lock an ordinary thread may hold (see the module
/// documentation): the inbox and the finished plays are lock-free queues, sleeping and
/// waking are `park`/`unpark`, and a stream found locked is set aside (its entry unchanged)
/// and tried again one step later.
fn run(inbox: &Weak<Inbox>, finished: &Finished, reporter: &Thread) {
    let mut heap: BinaryHeap<Entry> = BinaryHeap::new();
    let mut busy: Vec<Entry> = Vec::new();
    let epoch = now();
    loop {
        {
            let Some(inbox) = inbox.upgrade() else {
                return;
            };
            while let Some(entry) = inbox.entries.pop() {
                heap.push(entry);
            }
        }
        heap.extend(busy.drain(..));
        let now = now();
        let mut reported = false;
        while heap.peek().is_some_and(|next| next.due <= now) {
            let entry = heap.pop().expect("peeked just now");
            let stream = Arc::clone(&entry.stream);
            let mut locked = match stream.try_lock() {
                Ok(locked) => locked,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    busy.push(entry);
                    continue;
                }
            };
            if locked.queued != Some(entry.due) {
                // Stale: the stream was rescheduled since.
                continue;
            }
            if locked.send_due(now) {
                finished.relays.push(locked.id);
                reported = true;
            }
            locked.queued = locked.want();
            if let Some(due) = locked.queued {
                drop(locked);
                heap.push(Entry {
                    due,
                    stream: entry.stream,
                });
            }
        }
        if reported {
            reporter.unpark();
        }
        let next = heap.peek().map(|next| on_grid(epoch, next.due));
        let retry = (!busy.is_empty()).then(|| on_grid(epoch, now + STEP));
        match next.into_iter().chain(retry).min() {
            Some(wake) => {
                let wait = wake.saturating_duration_since(self::now());
                if !wait.is_zero() {
                    std::thread::park_timeout(wait);
                }
            }
            None => std::thread::park_timeout(IDLE_CHECK),
        }
    }
}

/// The reporting thread's loop: turns the plays the pacer saw finish into
/// [`MediaEvent::PlayFinished`], until the pacer has ended. An ordinary thread: sending on
/// the events channel wakes a task, which takes the runtime's locks.
fn report(finished: &Finished, events: &UnboundedSender<MediaEvent>) {
    loop {
        let done = finished.done.load(AtomicOrdering::Acquire);
        while let Some(id) = finished.relays.pop() {
            tracing::debug!(relay = %id, "play finished");
            let _ = events.send(MediaEvent::PlayFinished { id });
        }
        if done {
            return;
        }
        std::thread::park();
    }
}

/// Puts the calling thread under `SCHED_FIFO` at `priority` (sched(7)): woken for a frame,
/// it runs at once, ahead of the relay workers and of any other ordinary thread.
fn take_priority(priority: u8) {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let taken = ThreadPriorityValue::try_from(priority)
        .map_err(|reason| reason.to_string())
        .and_then(|value| {
            set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
            )
            .map_err(|error| error.to_string())
        });
    match taken {
        Ok(()) => tracing::info!(priority, "media pacer runs under SCHED_FIFO"),
        Err(error) => tracing::warn!(
            priority,
            %error,
            "media pacer runs at normal priority: SCHED_FIFO was refused (it needs root, \
             CAP_SYS_NICE or LimitRTPRIO; [media] pacer_priority = 0 asks for nothing)"
        ),
    }
}

/// The first point of the grid (`epoch` + n·[`STEP`]) at or after `due`.
fn on_grid(epoch: Instant, due: Instant) -> Instant {
    let since = due.saturating_duration_since(epoch);
    let step = STEP.as_nanos();
    let steps = since.as_nanos().div_ceil(step);
    epoch + Duration::from_nanos((steps * step) as u64)
}
