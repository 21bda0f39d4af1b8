//! The cache of RSA keys shared by the examples (`loadgen`, `soak`). Their wire client is
//! `gochat_testkit::wire`.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use gochat_proto::crypto::PrivateKey;

/// Most RSA keys the cache will generate in one run.
pub const MAX_KEYS: usize = 1000;

/// Loads `count` keys from the cache, generating (in parallel) and saving any that are missing.
pub fn load_keys(path: &Path, count: usize) -> Result<Vec<Arc<PrivateKey>>> {
    if count > MAX_KEYS {
        bail!("at most {MAX_KEYS} keys");
    }
    let mut keys = Vec::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        const END: &str = "-----END RSA PRIVATE KEY-----";
        for block in text.split_inclusive(END).filter(|b| b.contains(END)) {
            match PrivateKey::from_pem(block.as_bytes()) {
                Ok(k) => keys.push(Arc::new(k)),
                Err(e) => eprintln!(
                    "warning: skipping unreadable key in {}: {e}",
                    path.display()
                ),
            }
            if keys.len() == count {
                break;
            }
        }
    }
    if keys.len() >= count {
        return Ok(keys);
    }
    let missing = count - keys.len();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(missing);
    eprintln!(
        "generating {missing} RSA-4096 keys on {threads} threads (cached in {})",
        path.display()
    );
    let started = Instant::now();
    let per = missing.div_ceil(threads);
    let generated: Vec<Result<Vec<PrivateKey>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let n = per.min(missing.saturating_sub(t * per));
                s.spawn(move || -> Result<Vec<PrivateKey>> {
                    (0..n)
                        .map(|_| PrivateKey::generate().map_err(|e| anyhow!("{e}")))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("key generation thread panicked")))
            })
            .collect()
    });
    for batch in generated {
        keys.extend(batch?.into_iter().map(Arc::new));
    }
    eprintln!(
        "generated {missing} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut text = String::new();
    for k in &keys {
        text.push_str(&k.to_pkcs1_pem().map_err(|e| anyhow!("{e}"))?);
    }
    write_private(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(keys)
}

/// Writes `bytes` to `path`, readable by the owner only (the file holds private keys).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An older cache may have been created with wider permissions.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}
