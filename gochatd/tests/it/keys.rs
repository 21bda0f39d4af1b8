//! Private keys at rest: sealing, unsealing, corruption, passphrase changes and the
//! passphrase command.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gochat_proto::crypto::PrivateKey;
use gochatd::keys::{
    KdfParams, KeyError, MAX_COMMAND_OUTPUT, SealedKey, change_passphrase,
    change_passphrase_with_params, seal, seal_with_params, unseal,
};
use zeroize::Zeroizing;

/// Runs a passphrase command as the daemon does, with `timeout`.
fn command_within(command: &str, timeout: Duration) -> Result<Zeroizing<String>, KeyError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(gochatd::keys::passphrase_from_command(command, timeout))
}

/// Runs a passphrase command with a generous timeout.
fn passphrase_from_command(command: &str) -> Result<Zeroizing<String>, KeyError> {
    command_within(command, Duration::from_secs(60))
}

/// Cheap Argon2id settings so the tests do not spend 64 MiB × 3 passes per call.
const CHEAP: KdfParams = KdfParams {
    m_cost_kib: 8,
    t_cost: 1,
    p_cost: 1,
};
const HEADER_LEN: usize = 45;
const TAG_LEN: usize = 16;

/// Alice's key as exported by the Go client (generating RSA-4096 keys is slow).
fn alice() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let candidates = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../proto/tests/vectors/keys/alice.priv.pem"),
            PathBuf::from("/work/shared/reference/vectors/keys/alice.priv.pem"),
        ];
        match candidates.iter().find_map(|path| std::fs::read(path).ok()) {
            Some(pem) => PrivateKey::from_pem(&pem).expect("alice.priv.pem parses"),
            None => PrivateKey::generate().expect("key generation"),
        }
    })
}

fn der(key: &PrivateKey) -> Vec<u8> {
    key.to_pkcs1_der().expect("DER").to_vec()
}

fn same_key(a: &PrivateKey, b: &PrivateKey) {
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(der(a), der(b));
}

#[test]
fn plain_round_trip() {
    for passphrase in [None, Some("")] {
        let sealed = seal(alice(), passphrase).expect("seal");
        assert!(!sealed.encrypted);
        assert_eq!(sealed.blob, der(alice()), "a plain blob is the PKCS#1 DER");
        same_key(&unseal(&sealed, None).expect("unseal"), alice());
        // A passphrase given for a plain key is ignored.
        same_key(&unseal(&sealed, Some("whatever")).expect("unseal"), alice());
    }
}

#[test]
fn encrypted_round_trip() {
    let sealed = seal_with_params(alice(), Some("correct horse"), CHEAP).expect("seal");
    assert!(sealed.encrypted);
    let plain = der(alice());
    assert_eq!(sealed.blob.len(), HEADER_LEN + plain.len() + TAG_LEN);
    assert_eq!(&sealed.blob[..4], b"GCK1");
    assert_eq!(sealed.blob[4], 1, "KDF id of Argon2id");
    assert_eq!(&sealed.blob[5..9], &8u32.to_be_bytes());
    assert_eq!(&sealed.blob[9..13], &1u32.to_be_bytes());
    assert_eq!(&sealed.blob[13..17], &1u32.to_be_bytes());
    assert_eq!(sealed.kdf_params(), Some(CHEAP));
    assert!(
        !sealed
            .blob
            .windows(32)
            .any(|w| plain.windows(32).any(|p| p == w)),
        "no run of the plaintext shows through"
    );
    same_key(
        &unseal(&sealed, Some("correct horse")).expect("unseal"),
        alice(),
    );

    let again = seal_with_params(alice(), Some("correct horse"), CHEAP).expect("seal");
    assert_ne!(
        sealed.blob[17..HEADER_LEN],
        again.blob[17..HEADER_LEN],
        "fresh salt and nonce"
    );
    assert_ne!(sealed.blob[HEADER_LEN..], again.blob[HEADER_LEN..]);
}

#[test]
fn default_params_round_trip() {
    let sealed = seal(alice(), Some("pw")).expect("seal");
    assert_eq!(sealed.kdf_params(), Some(KdfParams::DEFAULT));
    assert_eq!(
        sealed.kdf_params(),
        Some(KdfParams {
            m_cost_kib: 65536,
            t_cost: 3,
            p_cost: 1
        })
    );
    same_key(&unseal(&sealed, Some("pw")).expect("unseal"), alice());
}

#[test]
fn wrong_passphrase() {
    let sealed = seal_with_params(alice(), Some("right"), CHEAP).expect("seal");
    for wrong in ["wrong", "Right", "right ", "righ"] {
        assert!(
            matches!(unseal(&sealed, Some(wrong)), Err(KeyError::WrongPassphrase)),
            "{wrong:?}"
        );
    }
}

#[test]
fn passphrase_required() {
    let sealed = seal_with_params(alice(), Some("right"), CHEAP).expect("seal");
    for missing in [None, Some("")] {
        assert!(matches!(
            unseal(&sealed, missing),
            Err(KeyError::PassphraseRequired)
        ));
    }
}

#[test]
fn seal_rejects_unusable_params() {
    for params in [
        KdfParams {
            m_cost_kib: 2 * 1024 * 1024,
            ..CHEAP
        },
        KdfParams { t_cost: 0, ..CHEAP },
        KdfParams { p_cost: 0, ..CHEAP },
    ] {
        assert!(matches!(
            seal_with_params(alice(), Some("pw"), params),
            Err(KeyError::Kdf(_))
        ));
    }
}

fn assert_rejected(sealed: &SealedKey, what: &str) {
    match unseal(sealed, Some("pw")) {
        Err(KeyError::Corrupt(_) | KeyError::WrongPassphrase) => {}
        other => panic!("{what}: expected Corrupt or WrongPassphrase, got {other:?}"),
    }
}

#[test]
fn every_truncation_is_rejected() {
    let sealed = seal_with_params(alice(), Some("pw"), CHEAP).expect("seal");
    for len in 0..sealed.blob.len() {
        let cut = SealedKey {
            blob: sealed.blob[..len].to_vec(),
            encrypted: true,
        };
        assert_rejected(&cut, &format!("encrypted blob cut to {len} bytes"));
    }

    let plain = seal(alice(), None).expect("seal");
    for len in 0..plain.blob.len() {
        let cut = SealedKey {
            blob: plain.blob[..len].to_vec(),
            encrypted: false,
        };
        assert!(
            matches!(unseal(&cut, None), Err(KeyError::Corrupt(_))),
            "plain key cut to {len} bytes"
        );
    }
}

#[test]
fn every_header_bit_flip_is_rejected() {
    let sealed = seal_with_params(alice(), Some("pw"), CHEAP).expect("seal");
    for byte in 0..HEADER_LEN {
        for bit in 0..8 {
            let mut blob = sealed.blob.clone();
            blob[byte] ^= 1 << bit;
            let flipped = SealedKey {
                blob,
                encrypted: true,
            };
            assert_rejected(
                &flipped,
                &format!("bit {bit} of header byte {byte} flipped"),
            );
        }
    }
}

#[test]
fn body_bit_flips_and_odd_blobs_are_rejected() {
    let sealed = seal_with_params(alice(), Some("pw"), CHEAP).expect("seal");
    for byte in [HEADER_LEN, HEADER_LEN + 100, sealed.blob.len() - 1] {
        let mut blob = sealed.blob.clone();
        blob[byte] ^= 0x80;
        assert!(matches!(
            unseal(
                &SealedKey {
                    blob,
                    encrypted: true
                },
                Some("pw")
            ),
            Err(KeyError::WrongPassphrase)
        ));
    }

    let mut extended = sealed.clone();
    extended.blob.push(0);
    assert_rejected(&extended, "a byte appended");

    let mut wrong_magic = sealed.clone();
    wrong_magic.blob[..4].copy_from_slice(b"GCK2");
    assert!(matches!(
        unseal(&wrong_magic, Some("pw")),
        Err(KeyError::Corrupt(_))
    ));

    // Absurd parameters are refused before any work is done, even with a wrong passphrase.
    for (offset, value) in [
        (5, u32::MAX),
        (5, 2 * 1024 * 1024),
        (9, u32::MAX),
        (13, 1000),
    ] {
        let mut blob = sealed.blob.clone();
        blob[offset..offset + 4].copy_from_slice(&u32::to_be_bytes(value));
        let absurd = SealedKey {
            blob,
            encrypted: true,
        };
        assert!(matches!(
            unseal(&absurd, Some("wrong")),
            Err(KeyError::Corrupt(_))
        ));
        assert_eq!(absurd.kdf_params(), None);
    }

    // An encrypted blob labelled plain, and a plain key labelled encrypted.
    let mislabelled = SealedKey {
        blob: sealed.blob.clone(),
        encrypted: false,
    };
    assert!(matches!(
        unseal(&mislabelled, None),
        Err(KeyError::Corrupt(_))
    ));
    let plain = seal(alice(), None).expect("seal");
    let mislabelled = SealedKey {
        blob: plain.blob,
        encrypted: true,
    };
    assert!(matches!(
        unseal(&mislabelled, Some("pw")),
        Err(KeyError::Corrupt(_))
    ));
    assert_eq!(mislabelled.kdf_params(), None);
}

#[test]
fn debug_does_not_print_the_key() {
    let plain = seal(alice(), None).expect("seal");
    let shown = format!("{plain:?}");
    assert!(shown.contains("encrypted: false"), "{shown}");
    assert!(shown.len() < 100, "{shown}");
}

#[test]
fn change_passphrase_round_trips() {
    let first = seal_with_params(alice(), Some("old"), CHEAP).expect("seal");

    let second =
        change_passphrase_with_params(&first, Some("old"), Some("new"), CHEAP).expect("change");
    assert!(second.encrypted);
    same_key(&unseal(&second, Some("new")).expect("unseal"), alice());
    assert!(matches!(
        unseal(&second, Some("old")),
        Err(KeyError::WrongPassphrase)
    ));

    // The old passphrase must be right.
    assert!(matches!(
        change_passphrase_with_params(&first, Some("nope"), Some("new"), CHEAP),
        Err(KeyError::WrongPassphrase)
    ));
    assert!(matches!(
        change_passphrase(&first, None, Some("new")),
        Err(KeyError::PassphraseRequired)
    ));

    // Removing the passphrase stores the key plain.
    let plain = change_passphrase(&second, Some("new"), None).expect("remove passphrase");
    assert!(!plain.encrypted);
    assert_eq!(plain.blob, der(alice()));
    let plain_too = change_passphrase(&second, Some("new"), Some("")).expect("remove");
    assert_eq!(plain_too, plain);

    // Adding one to a plain key; `change_passphrase` uses the default parameters.
    let added = change_passphrase(&plain, None, Some("fresh")).expect("add passphrase");
    assert!(added.encrypted);
    assert_eq!(added.kdf_params(), Some(KdfParams::DEFAULT));
    same_key(&unseal(&added, Some("fresh")).expect("unseal"), alice());
}

#[test]
fn passphrase_command_output() {
    let secret = passphrase_from_command("printf 'secret\\n'").expect("command");
    assert_eq!(secret.as_str(), "secret");

    // Only one trailing newline (or CRLF) goes; other whitespace is kept.
    assert_eq!(
        passphrase_from_command("printf '  two words \\r\\n'")
            .expect("command")
            .as_str(),
        "  two words "
    );
    assert_eq!(
        passphrase_from_command("printf 'a\\n\\n'")
            .expect("command")
            .as_str(),
        "a\n"
    );
    assert_eq!(
        passphrase_from_command("printf 'no-newline'")
            .expect("command")
            .as_str(),
        "no-newline"
    );
    // stdin is closed, so a command that reads it does not hang.
    assert!(passphrase_from_command("cat").is_err());
}

#[test]
fn passphrase_command_failures() {
    let err = passphrase_from_command("echo 'vault is sealed' >&2; exit 3").expect_err("fails");
    assert!(matches!(err, KeyError::PassphraseCommand(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains('3'), "{message}");
    assert!(message.contains("vault is sealed"), "{message}");

    let err = passphrase_from_command("false").expect_err("fails");
    assert!(err.to_string().contains("passphrase command"), "{err}");

    let err = passphrase_from_command("definitely-not-a-command-gochat").expect_err("fails");
    assert!(err.to_string().contains("127"), "{err}");

    let err = passphrase_from_command("printf '\\n'").expect_err("empty");
    assert!(err.to_string().contains("empty"), "{err}");

    let err = passphrase_from_command("printf '\\377\\376'").expect_err("not UTF-8");
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn passphrase_from_command_opens_a_key() {
    let sealed = seal_with_params(alice(), Some("from a command"), CHEAP).expect("seal");
    let passphrase = passphrase_from_command("echo 'from a command'").expect("command");
    same_key(
        &unseal(&sealed, Some(passphrase.as_str())).expect("unseal"),
        alice(),
    );
}

#[test]
fn passphrase_command_output_is_bounded() {
    let err = passphrase_from_command("head -c 100000 /dev/zero | tr '\\0' a").expect_err("long");
    assert!(
        err.to_string()
            .contains(&format!("more than {MAX_COMMAND_OUTPUT} bytes")),
        "{err}"
    );
}

/// The state letter of a process (`Z` for a zombie), or `None` once it is gone.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the parenthesised command name.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid")
}

#[test]
fn a_passphrase_command_past_its_timeout_is_killed_and_reaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    // The shell records its pid and that of a child it starts, then waits forever.
    let command = format!(
        "echo $$ > {d}/sh.tmp && mv {d}/sh.tmp {d}/sh.pid; \
         sleep 100000 & echo $! > {d}/sleep.tmp && mv {d}/sleep.tmp {d}/sleep.pid; wait"
    );
    let started = Instant::now();
    let err = command_within(&command, Duration::from_secs(3)).expect_err("times out");
    assert!(err.to_string().contains("killed"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));

    // The shell was our child: it is reaped by the time the call returns.
    let shell = read_pid(&dir.path().join("sh.pid"));
    assert_eq!(process_state(shell), None, "shell {shell} left behind");
    // Its child was killed with the process group; its new parent reaps it.
    let sleeper = read_pid(&dir.path().join("sleep.pid"));
    let gone = gochat_testkit::wait::wait_until_blocking(
        "the command's child to end",
        Duration::from_secs(10),
        || matches!(process_state(sleeper), None | Some('Z')),
    );
    if let Err(e) = gone {
        panic!("{e}: {sleeper} is in state {:?}", process_state(sleeper));
    }
}
