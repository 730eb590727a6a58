//! Past one machine (docs/design.md#many-accounts-and-shards): accounts share nothing — budgets are
//! per stream, key limits per key, quotas per account and region — so a fleet splits by account
//! into shards that separate processes carry out, each with its own ledger. `--shard I/N` keeps the
//! rows whose account's stable hash falls in shard I; every process given the same N and fleet file
//! agrees on the split, on any machine and with any build (FNV-1a of the account id, not Rust's
//! randomly seeded hasher).

use std::fmt;

/// Shard `index` (1-based) of `of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub of: u32,
}

impl Shard {
    /// `I/N` with 1 <= I <= N (Kubernetes' completion index is 0-based: pass index + 1).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?}: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let of: u32 = n.trim().parse().map_err(|_| bad())?;
        if of == 0 || index == 0 || index > of {
            return Err(bad());
        }
        Ok(Shard { index, of })
    }

    /// Whether `account`'s rows are this shard's.
    pub fn holds(&self, account: &str) -> bool {
        fnv1a(account.as_bytes()) % u64::from(self.of) == u64::from(self.index - 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.of)
    }
}

/// FNV-1a, 64 bits: stable across processes, machines and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_i_of_n_and_refuses_the_rest() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, of: 8 }));
        assert_eq!(Shard::parse("1/1").unwrap().to_string(), "1/1");
        for bad in ["0/8", "9/8", "2", "2/0", "a/b", "-1/4", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_account_falls_in_exactly_one_shard_the_same_everywhere() {
        // FNV-1a's published test vector: the hash is the algorithm's, not this build's.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let accounts: Vec<String> = (0..64)
            .map(|i| format!("{:012}", 100_000_000_001u64 + i))
            .collect();
        let n = 8;
        let mut sizes = vec![0; n as usize];
        for a in &accounts {
            let holders: Vec<u32> = (1..=n)
                .filter(|i| Shard { index: *i, of: n }.holds(a))
                .collect();
            assert_eq!(holders.len(), 1, "{a}: {holders:?}");
            sizes[(holders[0] - 1) as usize] += 1;
        }
        // Spread over the shards, not piled on one.
        assert!(sizes.iter().all(|s| *s >= 2), "{sizes:?}");
    }
}
