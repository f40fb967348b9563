//! Outposts and everything they serve: providers, applications, certificate keypairs,
//! service connections and brands, with authentik's validation and permissions.
//!
//! Every change that affects what an outpost sees (spec §4.4: the outpost itself, its
//! providers, their certificates, brands, its service connection) goes through
//! [`Services::outposts_changed_in`]: inside the same transaction the outpost's service account
//! gets its permissions rebuilt through the provider plugins, and once the transaction commits
//! every replica is told to push an update to the outpost's connected instances.
mod applications;
mod brands;
mod certificates;
mod connections;
mod health;
mod instances;
mod providers;
mod service_account;

pub use applications::ApplicationFilter;
pub use brands::BrandFilter;
pub(crate) use brands::{REFERENCE_FIELDS as BRAND_REFERENCES, TEXT_FIELDS as BRAND_TEXTS};
pub use certificates::{CertificateFilter, GenerateCertificate};
pub use connections::ConnectionFilter;
pub use health::STATE_TTL;
pub use instances::OutpostFilter;
pub use providers::ProviderFilter;

use garrison_model::ListQuery;
use garrison_store::outposts::Paging;
use garrison_store::sql::{OrderFields, Ordering};

use crate::authz::{Caller, Visibility};
use crate::{ServiceResult, validate};

/// Validated paging and ordering for a list.
pub(crate) fn paging(
    query: &ListQuery,
    fields: &OrderFields,
    default: Ordering,
) -> ServiceResult<Paging> {
    Ok(Paging {
        ordering: validate::ordering(query, fields, default)?,
        limit: query.page.page_size,
        offset: query.page.offset(),
    })
}

/// Which objects a list may show: `Ok(None)` for an internal service account that may see
/// none (an empty page), `Ok(Some(None))` for all, `Ok(Some(Some(pks)))` for those.
pub(crate) fn visible(
    caller: &Caller,
    view_permission: &str,
) -> ServiceResult<Option<Option<Vec<String>>>> {
    Ok(match caller.principal.visibility(view_permission)? {
        None => None,
        Some(Visibility::All) => Some(None),
        Some(Visibility::Only(pks)) => Some(Some(pks)),
    })
}
