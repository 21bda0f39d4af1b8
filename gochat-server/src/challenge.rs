//! Login challenges: 128 characters from the deployed implementation's alphabet, drawn
//! from the operating system's CSPRNG.

use rand::TryRngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

/// The characters challenges are made of (no digits, no CR or LF).
pub const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%&*+-?!";
/// Challenge length.
pub const CHALLENGE_LEN: usize = 128;

/// A fresh random challenge, or `None` if the OS RNG fails.
pub fn new_challenge() -> Option<Zeroizing<Vec<u8>>> {
    // Rejection sampling keeps the distribution uniform: 244 = 4 × 61.
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut out = Zeroizing::new(Vec::with_capacity(CHALLENGE_LEN));
    let mut pool = Zeroizing::new([0u8; 64]);
    while out.len() < CHALLENGE_LEN {
        OsRng.try_fill_bytes(pool.as_mut()).ok()?;
        for &b in pool.iter() {
            if b < limit && out.len() < CHALLENGE_LEN {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()]);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_use_the_alphabet_and_differ() {
        let a = new_challenge().expect("rng");
        let b = new_challenge().expect("rng");
        assert_eq!(a.len(), CHALLENGE_LEN);
        assert!(a.iter().all(|c| ALPHABET.contains(c)));
        assert_ne!(*a, *b);
        assert_eq!(ALPHABET.len(), 61);
    }
}
