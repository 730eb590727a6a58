//! Organizations `ListAccounts`: the organization the sandbox's account manages, when the world
//! has member accounts. Only the management account and a member account that is a delegated
//! administrator may list them (the Organizations API reference: "You can only call this
//! operation from the management account or a member account that is a delegated
//! administrator"); another member gets `AccessDeniedException` "You don't have permissions to
//! access this resource."; without
//! members there is no organization (`AWSOrganizationsNotInUseException` "Your account is not a
//! member of an organization."). Accounts are listed in the order they joined (the management
//! account first), at most `MaxResults` (1–20, default 20) a page, with an opaque `NextToken`
//! while more remain; a token this sandbox did not give is `InvalidInputException` with reason
//! `INVALID_NEXT_TOKEN`.

use sha2::{Digest, Sha256};

use super::World;
use super::accounts::Account;
use super::identity::Caller;
use crate::vocabulary::{ApiError, codes, partition};

/// Accounts per page when `MaxResults` is absent.
pub const DEFAULT_PAGE: usize = 20;

/// Mixed into page tokens so that they read as opaque.
const TOKEN_MASK: u64 = 0x5a4d_0c5a_11ac_c075;

/// One page of ListAccounts.
#[derive(Debug)]
pub struct AccountPage<'a> {
    pub accounts: Vec<&'a Account>,
    pub next_token: Option<String>,
}

/// The id of the organization `management` manages: `o-` and 10 lowercase letters and digits
/// (Organizations model, `AccountArn`'s `o-[a-z0-9]{10,32}`), the same in every run.
pub(super) fn organization_id(management: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(management.as_bytes());
    let id: String = digest
        .iter()
        .take(10)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("o-{id}")
}

impl World {
    /// Whether the sandbox's account manages an organization: whether there are members.
    pub fn has_organization(&self) -> bool {
        self.accounts.values().any(|a| a.member)
    }

    /// `Account.Arn`: `arn:<partition>:organizations::<management>:account/<organization>/<id>`,
    /// in the partition of `region`, the Region a request was signed for.
    pub fn account_arn(&self, id: &str, region: &str) -> String {
        format!(
            "arn:{}:organizations::{}:account/{}/{id}",
            partition(region),
            self.account,
            self.organization_id
        )
    }

    /// The accounts of the world, in the order they joined (the sandbox's own first).
    pub fn accounts(&self) -> Vec<&Account> {
        let mut all: Vec<&Account> = self.accounts.values().collect();
        all.sort_by_key(|a| (a.joined_at, a.id.clone()));
        all
    }

    /// ListAccounts by `caller`: up to `max_results` accounts after `next_token`.
    pub fn list_accounts(
        &self,
        caller: &Caller,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> Result<AccountPage<'_>, ApiError> {
        if !self.has_organization() {
            return Err(ApiError::new(
                codes::ORGANIZATIONS_NOT_IN_USE,
                "Your account is not a member of an organization.",
            ));
        }
        let delegated = self
            .accounts
            .get(&caller.account)
            .is_some_and(|a| a.member && a.delegated_administrator);
        if caller.account != self.account && !delegated {
            return Err(ApiError::new(
                codes::ACCESS_DENIED,
                "You don't have permissions to access this resource.",
            ));
        }
        let all = self.accounts();
        let start = match next_token {
            None => 0,
            Some(token) => read_token(token)
                .filter(|&at| at <= all.len())
                .ok_or_else(|| {
                    ApiError::invalid_input(
                        "INVALID_NEXT_TOKEN",
                        "The parameter NextToken is not valid.",
                    )
                })?,
        };
        let end = (start + max_results.unwrap_or(DEFAULT_PAGE)).min(all.len());
        Ok(AccountPage {
            accounts: all[start..end].to_vec(),
            next_token: (end < all.len()).then(|| format!("{:016x}", end as u64 ^ TOKEN_MASK)),
        })
    }
}

fn read_token(token: &str) -> Option<usize> {
    if token.len() != 16 {
        return None;
    }
    u64::from_str_radix(token, 16)
        .ok()
        .and_then(|n| usize::try_from(n ^ TOKEN_MASK).ok())
}
