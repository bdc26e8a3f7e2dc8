//! argon2id password hashes as PHC strings, computed in one reused block of
//! argon2 memory.
//!
//! Each "auth-N" thread owns one [`Hasher`] (inside its `Auth`). argon2's
//! `PasswordHasher` allocates a fresh block of `m` KiB for every hash, and
//! the allocator does not always give those blocks back: ptmasterd grew
//! from 33 MB to 325 MB after 20 logins. A [`Hasher`] hashes into the block
//! it already holds, so the memory of the auth pool is `auth_threads` x
//! `argon2_memory_kib`, whatever the login load. The PHC strings are the
//! ones argon2's own `PasswordHasher` writes and `PasswordVerifier` reads,
//! so databases made before and after verify either way.

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};

/// Hashes and verifies passwords for one thread, always in its own block.
pub struct Hasher {
    /// The parameters of new hashes.
    params: Params,
    /// The argon2 memory, grown on first use to `params`' size and kept.
    blocks: Vec<Block>,
}

impl Hasher {
    /// A hasher making argon2id v19 hashes with `memory_kib`, `iterations`
    /// and `lanes`. No memory is taken until the first hash.
    pub fn new(memory_kib: u32, iterations: u32, lanes: u32) -> argon2::Result<Hasher> {
        Ok(Hasher {
            params: Params::new(memory_kib, iterations, lanes, None)?,
            blocks: Vec::new(),
        })
    }

    /// The PHC string of `password` under `salt`:
    /// `$argon2id$v=19$m=..,t=..,p=..$SALT$HASH`.
    pub fn hash(&mut self, password: &[u8], salt: &[u8; 16]) -> password_hash::Result<String> {
        let params = self.params.clone();
        let output = self.compute(password, salt, Algorithm::Argon2id, Version::V0x13, &params)?;
        let salt = SaltString::encode_b64(salt)?;
        let phc = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` is the one `phc` was made from, hashed with the
    /// algorithm, version and parameters stored in `phc` (a hash made under
    /// another `argon2_memory_kib` still verifies). The outputs are compared
    /// in constant time. `Err` when `phc` is not an argon2 PHC string.
    pub fn verify(&mut self, password: &[u8], phc: &str) -> password_hash::Result<bool> {
        let parsed = PasswordHash::new(phc)?;
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v)?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(password_hash::Error::PhcStringField);
        };
        let mut salt_buf = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_buf)?;
        let computed = self.compute(password, salt, algorithm, version, &params)?;
        // Output's PartialEq is subtle's constant-time comparison.
        Ok(computed == expected)
    }

    /// Blocks held now (argon2 blocks are 1 KiB).
    pub fn blocks_held(&self) -> usize {
        self.blocks.len()
    }

    /// Where the argon2 memory starts, to show that it is reused.
    pub fn memory_addr(&self) -> *const Block {
        self.blocks.as_ptr()
    }

    /// argon2 of `password` into this hasher's block. A stored hash that
    /// needs more memory than new ones grows the block for one hash; it
    /// shrinks back after, so the steady size stays that of the config.
    fn compute(
        &mut self,
        password: &[u8],
        salt: &[u8],
        algorithm: Algorithm,
        version: Version,
        params: &Params,
    ) -> password_hash::Result<Output> {
        let needed = params.block_count();
        let steady = self.params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let output = Output::init_with(len, |out| {
            argon2
                .hash_password_into_with_memory(password, salt, out, &mut self.blocks[..needed])
                .map_err(password_hash::Error::from)
        });
        if self.blocks.len() > steady {
            self.blocks.truncate(steady);
            self.blocks.shrink_to_fit();
        }
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    const PASS: &[u8] = b"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

    fn tiny() -> Hasher {
        Hasher::new(64, 1, 1).expect("valid parameters")
    }

    fn argon2(memory_kib: u32) -> Argon2<'static> {
        let params = Params::new(memory_kib, 1, 1, None).expect("valid parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    #[test]
    fn same_string_as_argon2s_own_hasher() {
        let phc = tiny().hash(PASS, &[9; 16]).expect("hash");
        let salt = SaltString::encode_b64(&[9; 16]).expect("salt");
        let theirs = argon2(64).hash_password(PASS, &salt).expect("hash");
        assert_eq!(phc, theirs.to_string());
        assert!(
            phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$CQkJCQkJCQkJCQkJCQkJCQ$"),
            "{phc}"
        );
    }

    #[test]
    fn new_hash_verifies_the_old_way() {
        let phc = tiny().hash(PASS, &[1; 16]).expect("hash");
        let parsed = PasswordHash::new(&phc).expect("PHC string");
        Argon2::default()
            .verify_password(PASS, &parsed)
            .expect("argon2's verifier accepts it");
        assert_eq!(
            Argon2::default().verify_password(b"wrong", &parsed),
            Err(password_hash::Error::Password)
        );
    }

    #[test]
    fn old_hash_verifies_the_new_way() {
        let salt = SaltString::encode_b64(&[2; 16]).expect("salt");
        let old = argon2(64).hash_password(PASS, &salt).expect("hash");
        let mut hasher = tiny();
        assert_eq!(hasher.verify(PASS, &old.to_string()), Ok(true));
        assert_eq!(hasher.verify(b"wrong", &old.to_string()), Ok(false));
    }

    #[test]
    fn wrong_password_fails() {
        let mut hasher = tiny();
        let phc = hasher.hash(PASS, &[3; 16]).expect("hash");
        assert_eq!(hasher.verify(PASS, &phc), Ok(true));
        assert_eq!(hasher.verify(&PASS[1..], &phc), Ok(false));
        assert_eq!(hasher.verify(b"", &phc), Ok(false));
    }

    #[test]
    fn stored_parameters_decide_not_the_config() {
        let salt = SaltString::encode_b64(&[4; 16]).expect("salt");
        let bigger = argon2(256).hash_password(PASS, &salt).expect("hash");
        let smaller = argon2(32).hash_password(PASS, &salt).expect("hash");
        let mut hasher = tiny();
        assert_eq!(hasher.verify(PASS, &bigger.to_string()), Ok(true));
        assert_eq!(hasher.blocks_held(), 64, "grown for one hash, then shrunk");
        assert_eq!(hasher.verify(PASS, &smaller.to_string()), Ok(true));
        assert_eq!(hasher.blocks_held(), 64);
        // argon2i and argon2d strings verify too, as they did before.
        let params = Params::new(64, 1, 1, None).expect("valid parameters");
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
        let phc = argon2i.hash_password(PASS, &salt).expect("hash");
        assert_eq!(hasher.verify(PASS, &phc.to_string()), Ok(true));
    }

    #[test]
    fn block_is_reused() {
        let mut hasher = tiny();
        assert_eq!(hasher.blocks_held(), 0, "nothing until the first hash");
        let phc = hasher.hash(PASS, &[5; 16]).expect("hash");
        let memory = hasher.memory_addr();
        assert_eq!(hasher.blocks_held(), 64);
        for _ in 0..5 {
            hasher.hash(PASS, &[6; 16]).expect("hash");
            assert_eq!(hasher.verify(PASS, &phc), Ok(true));
        }
        assert_eq!(hasher.memory_addr(), memory, "the same block every time");
        assert_eq!(hasher.blocks.capacity(), 64);
    }

    #[test]
    fn unreadable_strings_are_errors() {
        let mut hasher = tiny();
        for bad in ["", "plain", "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"] {
            assert!(hasher.verify(PASS, bad).is_err(), "{bad:?}");
        }
        let no_hash = "$argon2id$v=19$m=64,t=1,p=1$CQkJCQkJCQkJCQkJCQkJCQ";
        assert!(hasher.verify(PASS, no_hash).is_err());
        assert!(Hasher::new(1, 1, 1).is_err(), "too little memory");
    }
}
