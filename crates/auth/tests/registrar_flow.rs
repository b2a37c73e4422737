//! End-to-end behaviour of the authenticator as a registrar drives it: challenge → answer →
//! verify, on a virtual wall clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbar_auth::{
    Algorithm, Authenticator, Config, DigestInput, HashAlgorithm, Outcome, QopInput, QoplessPolicy,
    Refusal, Secret, ServerKey, VerifyError, ha1,
};

const REALM: &str = "pbx.example.com";
const USER: &str = "201";
const PASSWORD: &str = "Circle of Life";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn authenticator(config: Config) -> Authenticator {
    Authenticator::from_seed(config, 42, at(0)).expect("valid config")
}

fn default_authenticator() -> Authenticator {
    authenticator(Config::new(REALM))
}

/// A directory with one user, holding a plain secret.
fn directory(user: &str, _hash: HashAlgorithm) -> Option<Secret> {
    (user == USER).then(|| Secret::Password(PASSWORD.to_owned()))
}

/// A challenge parameter's value, unquoted (test challenges have no commas inside values).
fn param(challenge: &str, name: &str) -> Option<String> {
    let body = challenge.strip_prefix("Digest ")?;
    body.split(", ").find_map(|p| {
        let (n, v) = p.split_once('=')?;
        (n == name).then(|| v.trim_matches('"').to_owned())
    })
}

/// What a phone sends, built from a challenge.
struct Answer<'a> {
    challenge: &'a str,
    user: &'a str,
    password: &'a str,
    method: &'a str,
    uri: &'a str,
    /// `None`: an RFC 2069-style answer without qop.
    nc: Option<u32>,
    cnonce: &'a str,
}

impl<'a> Answer<'a> {
    fn new(challenge: &'a str) -> Self {
        Answer {
            challenge,
            user: USER,
            password: PASSWORD,
            method: "REGISTER",
            uri: "sip:pbx.example.com",
            nc: Some(1),
            cnonce: "0a4f113b",
        }
    }

    fn nc(mut self, nc: u32) -> Self {
        self.nc = Some(nc);
        self
    }

    fn header(&self) -> String {
        let algorithm =
            Algorithm::from_token(&param(self.challenge, "algorithm").expect("algorithm"))
                .expect("known algorithm");
        let realm = param(self.challenge, "realm").expect("realm");
        let nonce = param(self.challenge, "nonce").expect("nonce");
        let nc = self.nc.map(|n| format!("{n:08x}"));
        let input = DigestInput {
            algorithm,
            nonce: &nonce,
            uri: self.uri,
            qop: nc.as_deref().map(|nc| QopInput {
                qop: "auth",
                nc,
                cnonce: self.cnonce,
            }),
        };
        let response = input.response(
            &ha1(algorithm, self.user, &realm, self.password),
            self.method,
        );
        let mut h = format!(
            "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{}\", \
             response=\"{response}\", algorithm={algorithm}",
            self.user, self.uri
        );
        if let Some(opaque) = param(self.challenge, "opaque") {
            h.push_str(&format!(", opaque=\"{opaque}\""));
        }
        if let Some(nc) = nc {
            h.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{}\"", self.cnonce));
        }
        h
    }
}

fn verify(auth: &mut Authenticator, now: SystemTime, header: &str) -> Outcome {
    auth.verify(now, "REGISTER", [header], directory)
        .expect("well-formed credentials")
}

fn assert_authenticated(outcome: &Outcome) {
    match outcome {
        Outcome::Authenticated(a) => assert_eq!(a.username, USER),
        other => panic!("expected Authenticated, got {other:?}"),
    }
}

/// The challenge for `algorithm` among the values of one 401.
fn challenge_for(challenges: &[String], algorithm: Algorithm) -> &str {
    let wanted = format!("algorithm={algorithm},");
    challenges
        .iter()
        .find(|c| c.contains(&wanted))
        .expect("challenge for algorithm")
}

#[test]
fn challenges_offer_sha256_first_then_md5_with_one_shared_nonce() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    assert_eq!(challenges.len(), 2);
    let nonce = param(&challenges[0], "nonce").expect("nonce");
    assert_eq!(nonce.len(), 54);
    let opaque = auth.opaque().to_owned();
    assert_eq!(
        challenges[0],
        format!(
            "Digest realm=\"{REALM}\", nonce=\"{nonce}\", opaque=\"{opaque}\", \
             algorithm=SHA-256, qop=\"auth\""
        )
    );
    assert_eq!(
        challenges[1],
        format!(
            "Digest realm=\"{REALM}\", nonce=\"{nonce}\", opaque=\"{opaque}\", \
             algorithm=MD5, qop=\"auth\""
        )
    );
    let stale = auth.challenges(at(1), true);
    assert!(stale.iter().all(|c| c.ends_with(", stale=true")));
    assert_ne!(
        param(&stale[0], "nonce"),
        Some(nonce),
        "every 401 gets a fresh nonce"
    );
}

#[test]
fn offered_algorithms_and_their_order_are_configurable() {
    let mut config = Config::new(REALM);
    config.algorithms = vec![Algorithm::Md5, Algorithm::Sha512_256, Algorithm::Sha256Sess];
    config.opaque = false;
    let mut auth = authenticator(config);
    let challenges = auth.challenges(at(1), false);
    let algorithms: Vec<_> = challenges
        .iter()
        .map(|c| param(c, "algorithm").expect("algorithm"))
        .collect();
    assert_eq!(algorithms, ["MD5", "SHA-512-256", "SHA-256-sess"]);
    assert!(challenges.iter().all(|c| !c.contains("opaque")));
}

#[test]
fn a_correct_answer_authenticates_with_each_default_algorithm() {
    let mut auth = default_authenticator();
    for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
        // One fresh 401 per attempt: the challenges of one 401 share a nonce and its count.
        let challenges = auth.challenges(at(1), false);
        let header = Answer::new(challenge_for(&challenges, algorithm)).header();
        match verify(&mut auth, at(2), &header) {
            Outcome::Authenticated(a) => {
                assert_eq!(a.username, USER);
                assert_eq!(a.algorithm, algorithm);
            }
            other => panic!("{algorithm}: {other:?}"),
        }
    }
}

#[test]
fn session_variants_and_sha512_256_authenticate_when_offered() {
    let mut config = Config::new(REALM);
    config.algorithms = Algorithm::ALL.to_vec();
    let mut auth = authenticator(config);
    assert_eq!(auth.challenges(at(1), false).len(), 6);
    for algorithm in Algorithm::ALL {
        let challenges = auth.challenges(at(1), false);
        let challenge = challenge_for(&challenges, algorithm);
        let header = Answer::new(challenge).header();
        assert_authenticated(&verify(&mut auth, at(2), &header));
        // A session variant answered with the stored HA1 of its base algorithm works too.
        let mut fresh = auth.challenges(at(3), false);
        fresh.retain(|c| c.contains(&format!("algorithm={algorithm},")));
        let header = Answer::new(&fresh[0]).header();
        let stored = ha1(algorithm, USER, REALM, PASSWORD);
        let outcome = auth
            .verify(at(3), "REGISTER", [header.as_str()], |_, hash| {
                assert_eq!(hash, algorithm.hash());
                Some(Secret::Ha1(stored.clone()))
            })
            .expect("well-formed");
        assert_authenticated(&outcome);
    }
}

#[test]
fn a_wrong_session_hash_is_wrong_credentials() {
    let mut config = Config::new(REALM);
    config.algorithms = vec![Algorithm::Md5Sess];
    let mut auth = authenticator(config);
    let challenge = auth.challenges(at(1), false).remove(0);
    // The phone computes plain MD5 but labels it MD5-sess.
    let header = Answer::new(&challenge.replace("MD5-sess", "MD5"))
        .header()
        .replace("algorithm=MD5", "algorithm=MD5-sess");
    assert_eq!(
        verify(&mut auth, at(2), &header),
        Outcome::WrongCredentials {
            username: USER.into()
        }
    );
}

#[test]
fn stored_ha1_is_accepted_in_any_hex_case_and_a_broken_one_is_an_error() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let header = Answer::new(challenge_for(&challenges, Algorithm::Md5)).header();
    let stored = ha1(Algorithm::Md5, USER, REALM, PASSWORD).to_ascii_uppercase();
    let outcome = auth
        .verify(at(2), "REGISTER", [header.as_str()], |_, hash| {
            assert_eq!(hash, HashAlgorithm::Md5);
            Some(Secret::Ha1(stored.clone()))
        })
        .expect("well-formed");
    assert_authenticated(&outcome);

    let header = Answer::new(challenge_for(&challenges, Algorithm::Sha256)).header();
    let err = auth
        .verify(at(2), "REGISTER", [header.as_str()], |_, _| {
            Some(Secret::Ha1(stored.clone())) // an MD5 HA1 handed out for SHA-256
        })
        .expect_err("broken directory record");
    assert_eq!(
        err,
        VerifyError::InvalidStoredHa1 {
            username: USER.into(),
            expected: 64
        }
    );
}

#[test]
fn the_uri_parameter_need_not_equal_the_request_uri() {
    // SIPp 3.6.1 puts sip:<remote_ip>:<remote_port> in `uri`; the digest covers what was sent.
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let mut answer = Answer::new(challenge_for(&challenges, Algorithm::Md5));
    answer.uri = "sip:192.0.2.10:5060";
    assert_authenticated(&verify(&mut auth, at(2), &answer.header()));
}

#[test]
fn the_response_covers_the_method() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let mut answer = Answer::new(challenge_for(&challenges, Algorithm::Md5));
    answer.method = "INVITE";
    let header = answer.header();
    assert!(matches!(
        verify(&mut auth, at(2), &header),
        Outcome::WrongCredentials { .. }
    ));
    let outcome = auth
        .verify(at(2), "INVITE", [header.as_str()], directory)
        .expect("well-formed");
    assert_authenticated(&outcome);
}

#[test]
fn a_nonce_past_its_lifetime_is_stale_and_the_rechallenge_says_so() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(10), false);
    let header = Answer::new(challenge_for(&challenges, Algorithm::Md5)).header();
    // Still valid one second before the end of its 300 s lifetime...
    assert_authenticated(&verify(&mut auth, at(309), &header));
    // ...stale from then on, even with a fresh count.
    let later = Answer::new(challenge_for(&challenges, Algorithm::Md5))
        .nc(2)
        .header();
    let outcome = verify(&mut auth, at(310), &later);
    assert_eq!(outcome, Outcome::Stale);
    assert!(outcome.stale());
    let rechallenge = auth.challenges(at(310), outcome.stale());
    assert!(rechallenge[0].ends_with("stale=true"));
    // The phone retries on the new nonce without asking its user.
    let retry = Answer::new(challenge_for(&rechallenge, Algorithm::Md5)).header();
    assert_authenticated(&verify(&mut auth, at(311), &retry));
}

#[test]
fn an_expired_nonce_with_a_wrong_password_is_not_stale() {
    // RFC 7616 §3.3: stale=true only when the digest itself was valid.
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(0), false);
    let mut answer = Answer::new(challenge_for(&challenges, Algorithm::Md5));
    answer.password = "guess";
    let outcome = verify(&mut auth, at(1_000), &answer.header());
    assert!(matches!(outcome, Outcome::WrongCredentials { .. }));
    assert!(!outcome.stale());
}

#[test]
fn the_nonce_lifetime_is_configurable() {
    let mut config = Config::new(REALM);
    config.nonce_lifetime = Duration::from_secs(30);
    let mut auth = authenticator(config);
    let challenges = auth.challenges(at(0), false);
    let header = Answer::new(challenge_for(&challenges, Algorithm::Md5)).header();
    assert_eq!(verify(&mut auth, at(30), &header), Outcome::Stale);
}

#[test]
fn forged_and_altered_nonces_are_refused() {
    let mut auth = default_authenticator();
    let genuine = auth.challenges(at(1), false);
    let genuine = challenge_for(&genuine, Algorithm::Md5);
    let nonce = param(genuine, "nonce").expect("nonce");

    // Same shape, another key (a forger without our key).
    let mut forger = Authenticator::from_seed(Config::new(REALM), 666, at(0)).expect("config");
    let forged = forger.challenges(at(1), false);
    let forged = challenge_for(&forged, Algorithm::Md5).replace(forger.opaque(), auth.opaque());

    // One character changed (e.g. to move the timestamp).
    let mut altered_nonce = nonce.clone().into_bytes();
    altered_nonce[3] = if altered_nonce[3] == b'A' { b'B' } else { b'A' };
    let altered_nonce = String::from_utf8(altered_nonce).expect("ASCII");
    let altered = genuine.replace(&nonce, &altered_nonce);

    // RFC 2617's example nonce: well-formed but not ours.
    let foreign = genuine.replace(&nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");

    for challenge in [forged.as_str(), altered.as_str(), foreign.as_str()] {
        let header = Answer::new(challenge).header();
        assert_eq!(
            verify(&mut auth, at(2), &header),
            Outcome::Refused(Refusal::InvalidNonce),
            "{challenge}"
        );
    }
}

#[test]
fn a_nonce_minted_for_another_realm_with_the_same_key_is_refused() {
    let key = ServerKey::from_seed(9);
    let mut ours = Authenticator::new(Config::new(REALM), &key, [1; 32], at(0)).expect("config");
    let mut theirs =
        Authenticator::new(Config::new("other.example.com"), &key, [1; 32], at(0)).expect("config");
    let theirs_challenge = theirs.challenges(at(1), false);
    let nonce = param(&theirs_challenge[1], "nonce").expect("nonce");
    let our_challenge = ours.challenges(at(1), false);
    let our_nonce = param(&our_challenge[1], "nonce").expect("nonce");
    let transplanted = our_challenge[1].replace(&our_nonce, &nonce);
    let header = Answer::new(&transplanted).header();
    assert_eq!(
        verify(&mut ours, at(2), &header),
        Outcome::Refused(Refusal::InvalidNonce)
    );
}

#[test]
fn a_repeated_nonce_count_is_a_replay_and_increasing_counts_are_accepted() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let challenge = challenge_for(&challenges, Algorithm::Sha256);
    let first = Answer::new(challenge).nc(1).header();
    assert_authenticated(&verify(&mut auth, at(2), &first));

    // The very same request again (a captured REGISTER replayed).
    let outcome = verify(&mut auth, at(3), &first);
    assert_eq!(outcome, Outcome::Replay);
    assert!(
        outcome.stale(),
        "a legitimate phone re-authenticates silently"
    );

    // The phone's next requests on the same nonce count upwards; gaps are fine.
    assert_authenticated(&verify(
        &mut auth,
        at(60),
        &Answer::new(challenge).nc(2).header(),
    ));
    assert_authenticated(&verify(
        &mut auth,
        at(61),
        &Answer::new(challenge).nc(7).header(),
    ));
    // Going back is a replay.
    assert_eq!(
        verify(&mut auth, at(62), &Answer::new(challenge).nc(5).header()),
        Outcome::Replay
    );
    // nc=0 is never valid.
    let other = auth.challenges(at(63), false);
    let zero = Answer::new(challenge_for(&other, Algorithm::Md5))
        .nc(0)
        .header();
    assert_eq!(verify(&mut auth, at(63), &zero), Outcome::Replay);
}

#[test]
fn a_bogus_response_does_not_advance_the_nonce_count() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let challenge = challenge_for(&challenges, Algorithm::Md5);
    let mut attacker = Answer::new(challenge).nc(0xffff_ffff);
    attacker.password = "guess";
    assert!(matches!(
        verify(&mut auth, at(2), &attacker.header()),
        Outcome::WrongCredentials { .. }
    ));
    assert_eq!(auth.tracked_nonces(), 0);
    assert_authenticated(&verify(
        &mut auth,
        at(3),
        &Answer::new(challenge).nc(1).header(),
    ));
}

#[test]
fn a_full_nonce_table_turns_forgotten_nonces_stale_not_replayable() {
    let mut config = Config::new(REALM);
    config.max_tracked_nonces = 2;
    let mut auth = authenticator(config);
    let old = auth.challenges(at(1), false);
    let old = challenge_for(&old, Algorithm::Md5).to_owned();
    assert_authenticated(&verify(&mut auth, at(2), &Answer::new(&old).header()));
    for t in 3..5 {
        let c = auth.challenges(at(t), false);
        let h = Answer::new(challenge_for(&c, Algorithm::Md5)).header();
        assert_authenticated(&verify(&mut auth, at(t), &h));
    }
    assert_eq!(auth.tracked_nonces(), 2);
    // The first nonce's history was evicted: its replay is not accepted.
    assert_eq!(
        verify(&mut auth, at(10), &Answer::new(&old).header()),
        Outcome::Stale
    );
}

#[test]
fn a_registration_storm_larger_than_the_table_still_authenticates() {
    // 50 phones challenged and answering within one second, with room for 10 nonces.
    let mut config = Config::new(REALM);
    config.max_tracked_nonces = 10;
    let mut auth = authenticator(config);
    let challenges: Vec<_> = (0..50).map(|_| auth.challenges(at(1), false)).collect();
    for c in &challenges {
        let header = Answer::new(challenge_for(c, Algorithm::Md5)).header();
        assert_authenticated(&verify(&mut auth, at(1), &header));
    }
    assert_eq!(auth.tracked_nonces(), 10);
}

#[test]
fn expired_nonces_leave_the_table() {
    let mut auth = default_authenticator();
    for t in 0..10 {
        let c = auth.challenges(at(t), false);
        let h = Answer::new(challenge_for(&c, Algorithm::Md5)).header();
        assert_authenticated(&verify(&mut auth, at(t), &h));
    }
    assert_eq!(auth.tracked_nonces(), 10);
    auth.purge_expired(at(305));
    assert_eq!(auth.tracked_nonces(), 4);
    auth.purge_expired(at(10_000));
    assert_eq!(auth.tracked_nonces(), 0);
}

#[test]
fn nonces_from_before_a_restart_are_stale_unless_other_instances_are_trusted() {
    let key = ServerKey::from_seed(5);
    let mut before = Authenticator::new(Config::new(REALM), &key, [7; 32], at(0)).expect("config");
    let challenges = before.challenges(at(1), false);
    let header = Answer::new(challenge_for(&challenges, Algorithm::Md5)).header();
    assert_authenticated(&verify(&mut before, at(2), &header));

    // Restart: same persisted key, even the same (mis)configured seed; a later start time.
    let mut after = Authenticator::new(Config::new(REALM), &key, [7; 32], at(3)).expect("config");
    assert_eq!(after.opaque(), before.opaque(), "opaque survives restarts");
    let next = Answer::new(challenge_for(&challenges, Algorithm::Md5))
        .nc(2)
        .header();
    assert_eq!(verify(&mut after, at(4), &next), Outcome::Stale);

    let mut config = Config::new(REALM);
    config.accept_nonces_from_other_instances = true;
    let mut cluster_node = Authenticator::new(config, &key, [8; 32], at(3)).expect("config");
    assert_authenticated(&verify(&mut cluster_node, at(4), &next));
}

#[test]
fn wrong_realm_and_wrong_or_missing_opaque_are_refused() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let challenge = challenge_for(&challenges, Algorithm::Md5);

    let other_realm = Answer::new(&challenge.replace(REALM, "evil.example.org")).header();
    assert_eq!(
        verify(&mut auth, at(2), &other_realm),
        Outcome::Refused(Refusal::WrongRealm)
    );

    let opaque = auth.opaque().to_owned();
    let wrong_opaque = Answer::new(&challenge.replace(&opaque, "FQhe")).header();
    assert_eq!(
        verify(&mut auth, at(2), &wrong_opaque),
        Outcome::Refused(Refusal::WrongOpaque)
    );

    let no_opaque = Answer::new(&challenge.replace(&format!(", opaque=\"{opaque}\""), "")).header();
    assert_eq!(
        verify(&mut auth, at(2), &no_opaque),
        Outcome::Refused(Refusal::WrongOpaque)
    );
}

#[test]
fn credentials_for_several_realms_pick_ours() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let challenge = challenge_for(&challenges, Algorithm::Md5);
    let theirs = Answer::new(&challenge.replace(REALM, "carrier.example.net")).header();
    let ours = Answer::new(challenge).header();
    let outcome = auth
        .verify(
            at(2),
            "REGISTER",
            [
                "NoOneKnowsThisScheme opaque-data=here",
                theirs.as_str(),
                ours.as_str(),
            ],
            directory,
        )
        .expect("well-formed");
    assert_authenticated(&outcome);
}

#[test]
fn an_unknown_scheme_counts_as_no_credentials() {
    // RFC 4475 §3.3.7 (regaut01).
    let mut auth = default_authenticator();
    for headers in [
        vec!["NoOneKnowsThisScheme opaque-data=here"],
        vec!["Basic MjAxOkNpcmNsZSBvZiBMaWZl"],
        vec![],
    ] {
        let outcome = auth
            .verify(at(1), "REGISTER", headers, directory)
            .expect("not an error");
        assert_eq!(outcome, Outcome::NoCredentials);
        assert!(!outcome.stale());
    }
}

#[test]
fn malformed_digest_credentials_are_a_typed_error() {
    let mut auth = default_authenticator();
    for header in [
        "Digest username=\"201",
        "Digest username=\"201\", realm=\"pbx.example.com\"",
        "Digest username=201 realm=x",
        "Digest username=a, realm=b, nonce=c, uri=d, response=e0, algorithm=SHA-1",
    ] {
        let err = auth
            .verify(at(1), "REGISTER", [header], directory)
            .expect_err(header);
        assert!(matches!(err, VerifyError::Malformed(_)), "{header}: {err}");
    }
}

#[test]
fn an_unknown_user_looks_exactly_like_a_wrong_password() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let challenge = challenge_for(&challenges, Algorithm::Md5);

    let mut wrong_password = Answer::new(challenge);
    wrong_password.password = "guess";
    let mut unknown_user = Answer::new(challenge);
    unknown_user.user = "299";
    let mut unknown_user_dummy_secret = Answer::new(challenge);
    unknown_user_dummy_secret.user = "298";
    unknown_user_dummy_secret.password = "crossbar-auth: no such user";

    let a = verify(&mut auth, at(2), &wrong_password.header());
    let b = verify(&mut auth, at(2), &unknown_user.header());
    let c = verify(&mut auth, at(2), &unknown_user_dummy_secret.header());
    assert_eq!(
        a,
        Outcome::WrongCredentials {
            username: USER.into()
        }
    );
    assert_eq!(
        b,
        Outcome::UnknownUser {
            username: "299".into()
        }
    );
    assert_eq!(
        c,
        Outcome::UnknownUser {
            username: "298".into()
        }
    );

    // What the peer sees: the re-challenges differ only in their fresh nonce.
    assert_eq!(a.stale(), b.stale());
    let mask = |values: Vec<String>| -> Vec<String> {
        values
            .iter()
            .map(|v| v.replace(&param(v, "nonce").expect("nonce"), "NONCE"))
            .collect()
    };
    let for_a = mask(auth.challenges(at(2), a.stale()));
    let for_b = mask(auth.challenges(at(2), b.stale()));
    assert_eq!(for_a, for_b);
}

#[test]
fn the_directory_is_not_consulted_for_credentials_that_fail_cheap_checks() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let challenge = challenge_for(&challenges, Algorithm::Md5);
    let nonce = param(challenge, "nonce").expect("nonce");
    let forged = challenge.replace(&nonce, &"A".repeat(54));
    let header = Answer::new(&forged).header();
    let outcome = auth
        .verify(at(2), "REGISTER", [header.as_str()], |_, _| {
            panic!("directory must not be consulted for a forged nonce")
        })
        .expect("well-formed");
    assert_eq!(outcome, Outcome::Refused(Refusal::InvalidNonce));
}

#[test]
fn an_algorithm_not_offered_is_refused() {
    let mut config = Config::new(REALM);
    config.algorithms = vec![Algorithm::Sha256];
    let mut auth = authenticator(config);
    let challenge = auth.challenges(at(1), false).remove(0);
    let md5 = Answer::new(&challenge.replace("SHA-256", "MD5")).header();
    assert_eq!(
        verify(&mut auth, at(2), &md5),
        Outcome::Refused(Refusal::AlgorithmNotOffered(Algorithm::Md5))
    );
    // No algorithm parameter means MD5 (RFC 7616 §3.4).
    let implicit = md5.replace(", algorithm=MD5", "");
    assert_eq!(
        verify(&mut auth, at(2), &implicit),
        Outcome::Refused(Refusal::AlgorithmNotOffered(Algorithm::Md5))
    );
}

#[test]
fn userhash_and_auth_int_are_refused_cleanly() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let header = Answer::new(challenge_for(&challenges, Algorithm::Md5)).header();
    assert_eq!(
        verify(&mut auth, at(2), &format!("{header}, userhash=true")),
        Outcome::Refused(Refusal::Userhash)
    );
    assert_eq!(
        verify(
            &mut auth,
            at(2),
            &header.replace("qop=auth", "qop=auth-int")
        ),
        Outcome::Refused(Refusal::UnsupportedQop)
    );
}

#[test]
fn answers_without_qop_follow_the_configured_policy() {
    let qopless = |auth: &mut Authenticator, t: u64| -> String {
        let c = auth.challenges(at(t), false);
        let mut answer = Answer::new(challenge_for(&c, Algorithm::Md5));
        answer.nc = None;
        answer.header()
    };

    // Default: each nonce once; the second use is re-challenged with stale=true.
    let mut auth = default_authenticator();
    let header = qopless(&mut auth, 1);
    match verify(&mut auth, at(2), &header) {
        Outcome::Authenticated(a) => assert_eq!(a.authentication_info(), None),
        other => panic!("{other:?}"),
    }
    let again = verify(&mut auth, at(3), &header);
    assert_eq!(again, Outcome::Replay);
    assert!(again.stale());

    let mut config = Config::new(REALM);
    config.qopless = QoplessPolicy::ReuseWithinLifetime;
    let mut auth = authenticator(config);
    let header = qopless(&mut auth, 1);
    assert_authenticated(&verify(&mut auth, at(2), &header));
    assert_authenticated(&verify(&mut auth, at(3), &header));
    assert_eq!(verify(&mut auth, at(301), &header), Outcome::Stale);

    let mut config = Config::new(REALM);
    config.qopless = QoplessPolicy::Refuse;
    let mut auth = authenticator(config);
    let header = qopless(&mut auth, 1);
    assert_eq!(
        verify(&mut auth, at(2), &header),
        Outcome::Refused(Refusal::QopRequired)
    );
}

#[test]
fn authentication_info_carries_rspauth_computed_with_an_empty_method() {
    let mut auth = default_authenticator();
    let challenges = auth.challenges(at(1), false);
    let challenge = challenge_for(&challenges, Algorithm::Sha256);
    let answer = Answer::new(challenge).nc(3);
    let outcome = verify(&mut auth, at(2), &answer.header());
    let info = outcome
        .authenticated()
        .and_then(|a| a.authentication_info())
        .expect("qop=auth has Authentication-Info")
        .to_owned();
    let nonce = param(challenge, "nonce").expect("nonce");
    let expected = DigestInput {
        algorithm: Algorithm::Sha256,
        nonce: &nonce,
        uri: answer.uri,
        qop: Some(QopInput {
            qop: "auth",
            nc: "00000003",
            cnonce: answer.cnonce,
        }),
    }
    .rspauth(&ha1(Algorithm::Sha256, USER, REALM, PASSWORD));
    assert_eq!(
        info,
        format!("qop=auth, rspauth=\"{expected}\", cnonce=\"0a4f113b\", nc=00000003")
    );
}

#[test]
fn invalid_configurations_are_refused() {
    let bad = [
        Config {
            algorithms: vec![],
            ..Config::new(REALM)
        },
        Config::new(""),
        Config::new("line\r\nbreak"),
        Config {
            nonce_lifetime: Duration::from_millis(500),
            ..Config::new(REALM)
        },
        Config {
            max_tracked_nonces: 0,
            ..Config::new(REALM)
        },
    ];
    for config in bad {
        assert!(Authenticator::from_seed(config, 1, at(0)).is_err());
    }
}

#[test]
fn realms_with_quotes_are_escaped_and_still_match() {
    let realm = "Acme \"HQ\" PBX";
    let mut auth = authenticator(Config::new(realm));
    let challenges = auth.challenges(at(1), false);
    assert!(challenges[0].starts_with("Digest realm=\"Acme \\\"HQ\\\" PBX\", nonce="));
    // Build the answer by hand: the realm travels escaped.
    let nonce = challenges[0]
        .split("nonce=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("nonce");
    let input = DigestInput {
        algorithm: Algorithm::Md5,
        nonce,
        uri: "sip:acme",
        qop: Some(QopInput {
            qop: "auth",
            nc: "00000001",
            cnonce: "c",
        }),
    };
    let response = input.response(&ha1(Algorithm::Md5, USER, realm, PASSWORD), "REGISTER");
    let header = format!(
        "Digest username=\"{USER}\", realm=\"Acme \\\"HQ\\\" PBX\", nonce=\"{nonce}\", \
         uri=\"sip:acme\", response=\"{response}\", opaque=\"{}\", qop=auth, nc=00000001, \
         cnonce=\"c\"",
        auth.opaque()
    );
    assert_authenticated(&verify(&mut auth, at(2), &header));
}

#[test]
fn times_before_the_epoch_do_not_panic() {
    let mut auth =
        Authenticator::from_seed(Config::new(REALM), 1, UNIX_EPOCH - Duration::from_secs(5))
            .expect("config");
    let before_epoch = UNIX_EPOCH - Duration::from_secs(1);
    let challenges = auth.challenges(before_epoch, false);
    let header = Answer::new(challenge_for(&challenges, Algorithm::Md5)).header();
    assert_authenticated(&verify(&mut auth, before_epoch, &header));
}
