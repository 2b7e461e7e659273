//! The single source of truth for the eight tenant-scoped business roles
//! and what each may do. The server's permission checks and the UI's role
//! matrix both read [`REGISTRY`]; the database's CHECK constraint on
//! `memberships.role` is tested against [`Role::ALL`].
//!
//! # Security
//! Roles are ranked; nobody may grant a role ranked above their own (see
//! [`Role::may_grant`]). Unknown role names parse to an error, never to a
//! default role.

use std::fmt;

/// A business role inside one workspace, highest rank first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Owner,
    Admin,
    AccountManager,
    Sales,
    Marketing,
    Finance,
    Member,
    Viewer,
}

/// Something a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    MembersManage,
    SecurityManage,
    ConsentManage,
    PrivacyExport,
    PrivacyErase,
    IpReveal,
    AuditRead,
    PersonsRead,
    PersonsWrite,
    DealsRead,
    DealsWrite,
    VisitorsRead,
    BillingRead,
    /// Add, rename, reorder and remove the workspace's pipeline stages.
    PipelineConfigure,
    /// Import contacts and organisations from CSV.
    CrmImport,
    /// Carry contact lists out of Metiva as CSV (personal data leaves).
    CrmExport,
    /// Create retainers, connect Stripe, issue and void invoices.
    BillingManage,
    /// See the workspace's background jobs (`/settings/jobs`).
    JobsRead,
    /// Retry or discard a failed or dead job (audited).
    JobsManage,
    /// Connect, disconnect and test the outbound providers
    /// (`/settings/integrations`, audited).
    IntegrationsManage,
}

impl Permission {
    pub const ALL: [Permission; 20] = [
        Permission::MembersManage,
        Permission::SecurityManage,
        Permission::ConsentManage,
        Permission::PrivacyExport,
        Permission::PrivacyErase,
        Permission::IpReveal,
        Permission::AuditRead,
        Permission::PersonsRead,
        Permission::PersonsWrite,
        Permission::DealsRead,
        Permission::DealsWrite,
        Permission::VisitorsRead,
        Permission::BillingRead,
        Permission::PipelineConfigure,
        Permission::CrmImport,
        Permission::CrmExport,
        Permission::BillingManage,
        Permission::JobsRead,
        Permission::JobsManage,
        Permission::IntegrationsManage,
    ];

    /// The stable key, e.g. `members.manage`.
    pub const fn key(self) -> &'static str {
        match self {
            Permission::MembersManage => "members.manage",
            Permission::SecurityManage => "security.manage",
            Permission::ConsentManage => "consent.manage",
            Permission::PrivacyExport => "privacy.export",
            Permission::PrivacyErase => "privacy.erase",
            Permission::IpReveal => "ip.reveal",
            Permission::AuditRead => "audit.read",
            Permission::PersonsRead => "persons.read",
            Permission::PersonsWrite => "persons.write",
            Permission::DealsRead => "deals.read",
            Permission::DealsWrite => "deals.write",
            Permission::VisitorsRead => "visitors.read",
            Permission::BillingRead => "billing.read",
            Permission::PipelineConfigure => "pipeline.configure",
            Permission::CrmImport => "crm.import",
            Permission::CrmExport => "crm.export",
            Permission::BillingManage => "billing.manage",
            Permission::JobsRead => "jobs.read",
            Permission::JobsManage => "jobs.manage",
            Permission::IntegrationsManage => "integrations.manage",
        }
    }
}

use Permission as P;

/// Every role and its permissions. Edit here and only here.
pub const REGISTRY: [(Role, &[Permission]); 8] = [
    (
        Role::Owner,
        &[
            P::MembersManage,
            P::SecurityManage,
            P::ConsentManage,
            P::PrivacyExport,
            P::PrivacyErase,
            P::IpReveal,
            P::AuditRead,
            P::PersonsRead,
            P::PersonsWrite,
            P::DealsRead,
            P::DealsWrite,
            P::VisitorsRead,
            P::BillingRead,
            P::PipelineConfigure,
            P::CrmImport,
            P::CrmExport,
            P::BillingManage,
            P::JobsRead,
            P::JobsManage,
            P::IntegrationsManage,
        ],
    ),
    (
        Role::Admin,
        &[
            P::MembersManage,
            P::SecurityManage,
            P::ConsentManage,
            P::PrivacyExport,
            P::PrivacyErase,
            P::IpReveal,
            P::AuditRead,
            P::PersonsRead,
            P::PersonsWrite,
            P::DealsRead,
            P::DealsWrite,
            P::VisitorsRead,
            P::PipelineConfigure,
            P::CrmImport,
            P::CrmExport,
            P::JobsRead,
            P::JobsManage,
            P::IntegrationsManage,
        ],
    ),
    (
        Role::AccountManager,
        &[
            P::PrivacyExport,
            P::PersonsRead,
            P::PersonsWrite,
            P::DealsRead,
            P::DealsWrite,
            P::VisitorsRead,
            P::PipelineConfigure,
            P::CrmImport,
            P::CrmExport,
        ],
    ),
    (
        Role::Sales,
        &[
            P::PersonsRead,
            P::PersonsWrite,
            P::DealsRead,
            P::DealsWrite,
            P::VisitorsRead,
            P::CrmImport,
            P::CrmExport,
        ],
    ),
    (
        Role::Marketing,
        &[
            P::ConsentManage,
            P::PersonsRead,
            P::VisitorsRead,
            P::DealsRead,
        ],
    ),
    (
        Role::Finance,
        &[
            P::DealsRead,
            P::BillingRead,
            P::PersonsRead,
            P::BillingManage,
        ],
    ),
    (
        Role::Member,
        &[
            P::PersonsRead,
            P::PersonsWrite,
            P::DealsRead,
            P::VisitorsRead,
        ],
    ),
    (
        Role::Viewer,
        &[P::PersonsRead, P::DealsRead, P::VisitorsRead],
    ),
];

/// Why a string is not a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole;

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown role")
    }
}

impl std::error::Error for UnknownRole {}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Owner,
        Role::Admin,
        Role::AccountManager,
        Role::Sales,
        Role::Marketing,
        Role::Finance,
        Role::Member,
        Role::Viewer,
    ];

    /// The stable key stored in the database, e.g. `account_manager`.
    pub const fn key(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::AccountManager => "account_manager",
            Role::Sales => "sales",
            Role::Marketing => "marketing",
            Role::Finance => "finance",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.key() == s)
            .ok_or(UnknownRole)
    }

    /// The permissions of this role, from the registry.
    pub fn permissions(self) -> &'static [Permission] {
        REGISTRY
            .iter()
            .find(|(r, _)| *r == self)
            .map(|(_, p)| *p)
            .unwrap_or(&[])
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    /// Rank: 0 is the highest (owner).
    pub fn rank(self) -> usize {
        Role::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(usize::MAX)
    }

    /// Nobody may grant a role above their own; only an owner grants owner.
    pub fn may_grant(self, target: Role) -> bool {
        self.can(Permission::MembersManage) && target.rank() >= self.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_in_the_registry_once_in_rank_order() {
        let listed: Vec<Role> = REGISTRY.iter().map(|(r, _)| *r).collect();
        assert_eq!(listed, Role::ALL.to_vec());
    }

    #[test]
    fn keys_round_trip_and_unknown_names_fail() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.key()), Ok(r));
        }
        assert_eq!(Role::parse("superadmin"), Err(UnknownRole));
        assert_eq!(Role::parse(""), Err(UnknownRole));
        assert_eq!(Role::parse("Owner"), Err(UnknownRole));
    }

    #[test]
    fn the_sensitive_permissions_sit_where_the_product_promises() {
        assert!(Role::Owner.can(Permission::MembersManage));
        assert!(!Role::Viewer.can(Permission::MembersManage));
        assert!(!Role::Sales.can(Permission::IpReveal));
        assert!(Role::Admin.can(Permission::AuditRead));
        // The owner holds every permission.
        assert_eq!(Role::Owner.permissions().len(), Permission::ALL.len());
        // Permission keys are unique.
        let mut keys: Vec<&str> = Permission::ALL.iter().map(|p| p.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Permission::ALL.len());
    }

    #[test]
    fn billing_is_read_and_managed_by_finance_and_owner_only() {
        for r in Role::ALL {
            let expected = matches!(r, Role::Owner | Role::Finance);
            assert_eq!(r.can(Permission::BillingManage), expected, "{r:?}");
            assert_eq!(r.can(Permission::BillingRead), expected, "{r:?}");
        }
    }

    #[test]
    fn nobody_grants_above_their_own_rank() {
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(Role::Admin.may_grant(Role::Sales));
        assert!(!Role::Admin.may_grant(Role::Owner));
        assert!(!Role::Sales.may_grant(Role::Viewer), "no members.manage");
    }
}
