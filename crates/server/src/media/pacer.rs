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
//! Nor does it allocate or free memory as it runs: the allocator's arenas are locked too,
//! and freeing a block another thread allocated takes *that* thread's arena lock. So the
//! queues between the pacer and the other threads have a fixed room, allocated once
//! (`ArrayQueue`; a relay's task that finds the inbox full uses an unbounded overflow
//! queue, a finished play that finds no room waits in the pacer for the next step), and a
//! stream the pacer lets go of — whose last reference it may hold once the relay has
//! closed — is handed to the ordinary thread to drop.
//!
//! # Phases
//!
//! Callers arrive together (a burst, or a carrier that opens a call every 10 ms), and a
//! play starts when it is ordered: left to themselves, the frames of a thousand callers
//! would fall on a few milliseconds of each 20 ms and the pacer would send hundreds back to
//! back there — the last of them late — and nothing in between. So each stream takes a
//! [`Phase`], one of the twenty 1 ms steps of the cycle, the one fewest sounding streams
//! hold when it starts to sound, and its player puts every start of the stream off to that
//! phase (at most 19 ms, [`Player::set_phase`]): the frames are spread evenly over the
//! cycle, a twentieth at each wake-up. A stream gives its phase back when it falls silent
//! for good (stopped, bridged, closed).
//!
//! The pacer keeps a heap of (due, stream). A stream is in the heap at most once for real:
//! [`Stream::queued`] is the due time of its live entry; an entry whose time is not that is
//! stale (the stream was rescheduled earlier since) and is dropped when it comes up. A
//! stream that falls silent, loses its caller's address or is closed is not queued again;
//! scheduling it brings it back.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbar_media::{FRAME, MediaEvent, Player, PlayerEvent, Prompt, RelayId};
use crossbeam_queue::{ArrayQueue, SegQueue};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

use super::forward::now;

/// The pacer's wake-ups fall on this grid: a frame leaves at most this long after it is
/// due, and the pacer wakes at most once per step.
const STEP: Duration = Duration::from_millis(1);

/// The phases a stream may take: the steps of one frame.
const PHASES: usize = (FRAME.as_millis() / STEP.as_millis()) as usize;

/// How many streams hold each phase (see the module documentation), shared by the pacer
/// and every stream.
pub(super) struct Phases {
    /// The pacer's grid: `epoch` + n·[`STEP`].
    epoch: Instant,
    streams: [AtomicUsize; PHASES],
}

impl Phases {
    fn new(epoch: Instant) -> Arc<Phases> {
        Arc::new(Phases {
            epoch,
            streams: std::array::from_fn(|_| AtomicUsize::new(0)),
        })
    }

    /// The phase fewest streams hold (the earliest of those), for one more. Two streams
    /// taking one at once may both take the same: the balance is approximate, never wrong.
    fn take(self: &Arc<Phases>) -> Phase {
        let step = (0..PHASES)
            .min_by_key(|&step| self.streams[step].load(AtomicOrdering::Relaxed))
            .expect("a frame has at least one step");
        self.streams[step].fetch_add(1, AtomicOrdering::Relaxed);
        Phase {
            phases: Arc::clone(self),
            step,
        }
    }
}

/// A stream's share of the 20 ms cycle: its frames leave at step `step` of each; given back
/// when dropped.
struct Phase {
    phases: Arc<Phases>,
    step: usize,
}

impl Phase {
    /// An instant of the phase's grid (of the pacer's grid too).
    fn instant(&self) -> Instant {
        self.phases.epoch + STEP * self.step as u32
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        self.phases.streams[self.step].fetch_sub(1, AtomicOrdering::Relaxed);
    }
}

/// One relay's player as the pacer and the relay's task share it (see the module
/// documentation).
pub(super) struct Stream {
    id: RelayId,
    player: Player,
    phases: Arc<Phases>,
    /// The stream's phase while it sounds or may again soon (see the module documentation).
    phase: Option<Phase>,
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
    /// A stream for relay `id` whose frames leave from `socket` (side A's RTP socket), paced
    /// by `pacer`.
    pub fn shared(
        id: RelayId,
        player: Player,
        socket: Arc<UdpSocket>,
        pacer: &Pacer,
    ) -> SharedStream {
        Arc::new(Mutex::new(Stream {
            id,
            player,
            phases: Arc::clone(&pacer.phases),
            phase: None,
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

    /// The stream is about to sound: it takes a phase if it has none (see the module
    /// documentation).
    fn phased(&mut self) -> &mut Player {
        if self.phase.is_none() {
            let phase = self.phases.take();
            self.player.set_phase(phase.instant());
            self.phase = Some(phase);
        }
        &mut self.player
    }

    /// [`Player::play`], on the stream's phase.
    pub fn play(
        &mut self,
        prompts: Vec<Arc<Prompt>>,
        repeat: bool,
        payload_type: u8,
        now: Instant,
    ) {
        self.phased().play(prompts, repeat, payload_type, now);
    }

    /// [`Player::set_music`], on the stream's phase.
    pub fn set_music(&mut self, music: Option<Arc<Prompt>>, payload_type: u8, now: Instant) {
        if music.is_some() {
            self.phased().set_music(music, payload_type, now);
        } else {
            self.player.set_music(None, payload_type, now);
        }
    }

    /// [`Player::stop`]; the stream gives its phase back.
    pub fn stop(&mut self) {
        self.player.stop();
        self.phase = None;
    }

    /// The relay is closing: the stream sends nothing more and lets go of the socket, so
    /// the relay's task drops it last.
    pub fn close(&mut self) {
        self.socket = None;
        self.stop();
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
    phases: Arc<Phases>,
    /// The pacer's thread, woken (`unpark`) when a stream is handed over.
    thread: Thread,
}

/// Room in each queue between the pacer and the other threads, allocated once: a few
/// changes for each of thousands of streams between two steps of the pacer.
const QUEUE_ROOM: usize = 1 << 14;

/// What the relays' tasks hand the pacer: lock-free queues (see the module documentation).
struct Inbox {
    entries: ArrayQueue<Entry>,
    /// Where entries go when `entries` is full (allocating: only then).
    overflow: SegQueue<Entry>,
}

/// What the pacer hands the reporting thread.
struct Finished {
    /// Plays the pacer has seen finish, to turn into events.
    relays: ArrayQueue<RelayId>,
    /// Streams the pacer lets go of, to drop (see the module documentation).
    released: ArrayQueue<SharedStream>,
    /// The pacer has ended: report what is left and end.
    done: AtomicBool,
}

impl Pacer {
    /// Starts the pacer's thread, under `SCHED_FIFO` priority `priority` if the system
    /// allows it (0: the normal scheduler), and the thread that reports finished plays on
    /// `events`; both end once the last `Pacer` handle is dropped.
    pub fn start(events: UnboundedSender<MediaEvent>, priority: u8) -> Pacer {
        let inbox = Arc::new(Inbox {
            entries: ArrayQueue::new(QUEUE_ROOM),
            overflow: SegQueue::new(),
        });
        let phases = Phases::new(now());
        let finished = Arc::new(Finished {
            relays: ArrayQueue::new(QUEUE_ROOM),
            released: ArrayQueue::new(QUEUE_ROOM),
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
            let epoch = phases.epoch;
            let reporter = reporter.thread().clone();
            std::thread::Builder::new()
                .name("crossbar-pacer".into())
                .spawn(move || {
                    if priority > 0 {
                        take_priority(priority);
                    }
                    run(&inbox, epoch, &finished, &reporter);
                    finished.done.store(true, AtomicOrdering::Release);
                    reporter.unpark();
                })
                .expect("the pacer thread starts: threads are not exhausted at start-up")
        };
        Pacer {
            inbox,
            phases,
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
        let entry = Entry {
            due,
            stream: Arc::clone(stream),
        };
        if let Err(entry) = self.inbox.entries.push(entry) {
            self.inbox.overflow.push(entry);
        }
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
/// earliest due time (rounded up to the grid `epoch` + n·[`STEP`]) or until a relay's task wakes it; ends once
/// every [`Pacer`] handle is gone.
///
/// Nothing here waits for a lock an ordinary thread may hold (see the module
/// documentation): the inbox and the finished plays are lock-free queues, sleeping and
/// waking are `park`/`unpark`, and a stream found locked is set aside (its entry unchanged)
/// and tried again one step later. Nor does it allocate or free, once its heap has grown
/// to the number of streams: streams it lets go of are dropped by the reporting thread.
fn run(inbox: &Weak<Inbox>, epoch: Instant, finished: &Finished, reporter: &Thread) {
    let mut heap: BinaryHeap<Entry> = BinaryHeap::with_capacity(QUEUE_ROOM);
    let mut busy: Vec<Entry> = Vec::with_capacity(1024);
    // Finished plays the reporting thread's queue had no room for yet.
    let mut unreported: Vec<RelayId> = Vec::with_capacity(1024);
    loop {
        {
            let Some(inbox) = inbox.upgrade() else {
                return;
            };
            while let Some(entry) = inbox.entries.pop().or_else(|| inbox.overflow.pop()) {
                heap.push(entry);
            }
        }
        heap.extend(busy.drain(..));
        let now = now();
        let mut reported = !unreported.is_empty();
        while let Some(id) = unreported.pop() {
            if let Err(id) = finished.relays.push(id) {
                unreported.push(id);
                break;
            }
        }
        // Hands a stream the pacer lets go of to the reporting thread, which drops it.
        let release = |stream: SharedStream, reported: &mut bool| {
            *reported = true;
            // No room: dropped here after all (rare, and only a reference count unless the
            // relay has closed).
            let _ = finished.released.push(stream);
        };
        while heap.peek().is_some_and(|next| next.due <= now) {
            let entry = heap.pop().expect("peeked just now");
            match send(&entry, now) {
                Sent::Busy => busy.push(entry),
                // Stale: the stream was rescheduled since.
                Sent::Stale => release(entry.stream, &mut reported),
                Sent::Frames { next, finished: id } => {
                    if let Some(id) = id {
                        if let Err(id) = finished.relays.push(id) {
                            unreported.push(id);
                        }
                        reported = true;
                    }
                    match next {
                        Some(due) => heap.push(Entry {
                            due,
                            stream: entry.stream,
                        }),
                        None => release(entry.stream, &mut reported),
                    }
                }
            }
        }
        if reported {
            reporter.unpark();
        }
        let next = heap.peek().map(|next| on_grid(epoch, next.due));
        let retry =
            (!busy.is_empty() || !unreported.is_empty()).then(|| on_grid(epoch, now + STEP));
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

/// What became of a stream's entry at its due time ([`send`]).
enum Sent {
    /// The stream was locked: its entry waits for the next step.
    Busy,
    /// The entry is not the stream's live one.
    Stale,
    /// The frames due went out; the stream's next frame is due at `next` (`None`: it is
    /// silent), and its play has just finished if `finished`.
    Frames {
        next: Option<Instant>,
        finished: Option<RelayId>,
    },
}

/// Sends the frames due at `now` of the stream of `entry`, unless it is locked or the entry
/// stale; the stream's live entry becomes the next due time.
fn send(entry: &Entry, now: Instant) -> Sent {
    let mut locked = match entry.stream.try_lock() {
        Ok(locked) => locked,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return Sent::Busy,
    };
    if locked.queued != Some(entry.due) {
        return Sent::Stale;
    }
    let finished = locked.send_due(now).then_some(locked.id);
    locked.queued = locked.want();
    Sent::Frames {
        next: locked.queued,
        finished,
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
        while let Some(stream) = finished.released.pop() {
            drop(stream);
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

#[cfg(test)]
mod phase_tests {
    use super::*;

    fn held(phases: &Phases) -> Vec<usize> {
        phases
            .streams
            .iter()
            .map(|streams| streams.load(AtomicOrdering::Relaxed))
            .collect()
    }

    #[test]
    fn streams_take_the_phases_in_turn_and_a_freed_phase_is_taken_next() {
        let epoch = Instant::now();
        let phases = Phases::new(epoch);
        let mut taken: Vec<Phase> = (0..2 * PHASES).map(|_| phases.take()).collect();
        assert_eq!(held(&phases), vec![2; PHASES]);
        // Each phase is its own millisecond of the cycle, on the pacer's grid.
        let instants: Vec<Duration> = taken[..PHASES]
            .iter()
            .map(|phase| phase.instant() - epoch)
            .collect();
        let steps: Vec<Duration> = (0..PHASES as u32).map(|n| STEP * n).collect();
        assert_eq!(instants, steps);

        // Two streams of phase 7 fall silent: the next two take it, then all are even again.
        let freed: Vec<usize> = [7, 7 + PHASES].to_vec();
        for &at in freed.iter().rev() {
            taken.remove(at);
        }
        assert_eq!(held(&phases)[7], 0);
        let again = [phases.take(), phases.take()];
        assert!(again.iter().all(|phase| phase.step == 7));
        assert_eq!(held(&phases), vec![2; PHASES]);
        drop(taken);
        drop(again);
        assert_eq!(held(&phases), vec![0; PHASES]);
    }
}
