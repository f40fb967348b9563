//! `host_capabilities!`: turns the one list of capabilities in `capabilities/mod.rs` into
//! everything that has to name each of them: the [`Capability`](super::Capability) and
//! [`Needed`](super::Needed) enums, the dispatch of parsing, rendering, review text and import
//! rules to each capability's module, what a load keeps for its calls ([`Granted`]), and linker
//! registration. A capability's behaviour lives in its module; this only routes to it.
//!
//! [`Granted`]: super::Granted

/// ```ignore
/// host_capabilities! {
///     always { module::Type, … }                     // HostInterfaces only: no grant
///     granted { Variant(Payload) => module::Type, … } // Grantable; Payload = Type::Grant
/// }
/// ```
macro_rules! host_capabilities {
    (
        always {
            $( $always_module:ident :: $always:ident ),* $(,)?
        }
        granted {
            $(
                $(#[$doc:meta])*
                $variant:ident ( $grant:ty ) => $module:ident :: $capability:ident
            ),+ $(,)?
        }
    ) => {
        /// A capability an operator can grant. Written as a string everywhere (manifests, the
        /// API, the database, the review screen) and (de)serialized as that string: `KEYWORD`
        /// or `KEYWORD:ARGUMENT`, as each capability's module defines (`secret:NAME`,
        /// `docker[:CONNECTION]`, …).
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub enum Capability {
            $( $(#[$doc])* $variant($grant), )+
        }

        /// Which capability an import needs: one per kind of [`Capability`], whatever its grant
        /// names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Needed {
            $( $variant, )+
        }

        impl Capability {
            /// How each capability is written, for the error naming an unknown one.
            const SYNTAXES: &'static [&'static str] = &[
                $( <$module::$capability as $crate::capabilities::Grantable>::SYNTAX, )+
            ];

            /// What the review screen says the capability allows.
            pub fn describe(&self) -> String {
                match self {
                    $(
                        Capability::$variant(grant) => {
                            <$module::$capability as $crate::capabilities::Grantable>::describe(grant)
                        }
                    )+
                }
            }

            /// The word the capability is written with (`secret`, `docker`, …).
            fn keyword(&self) -> &'static str {
                match self {
                    $(
                        Capability::$variant(_) => {
                            <$module::$capability as $crate::capabilities::Grantable>::KEYWORD
                        }
                    )+
                }
            }

            /// What is written after `keyword:`, if anything.
            fn argument(&self) -> Option<&str> {
                match self {
                    $(
                        Capability::$variant(grant) => {
                            <$module::$capability as $crate::capabilities::Grantable>::argument(grant)
                        }
                    )+
                }
            }

            /// The manifest's own rule for this grant.
            fn validate(&self) -> Result<(), String> {
                match self {
                    $(
                        Capability::$variant(grant) => {
                            <$module::$capability as $crate::capabilities::Grantable>::validate(grant)
                        }
                    )+
                }
            }

            /// Reads the capability whose keyword is `keyword`; `None` when no capability has
            /// that keyword.
            fn from_parts(keyword: &str, argument: Option<&str>) -> Option<Result<Capability, String>> {
                $(
                    if keyword == <$module::$capability as $crate::capabilities::Grantable>::KEYWORD {
                        return Some(
                            <$module::$capability as $crate::capabilities::Grantable>::parse(argument)
                                .map(Capability::$variant),
                        );
                    }
                )+
                None
            }
        }

        impl Needed {
            /// The capability an import of `interface` (unversioned) needs, if a granted one
            /// serves it.
            fn of_interface(interface: &str) -> Option<Needed> {
                $(
                    if <$module::$capability as $crate::capabilities::HostInterfaces>::INTERFACES
                        .contains(&interface)
                    {
                        return Some(Needed::$variant);
                    }
                )+
                None
            }

            /// What the load error says the import needs.
            fn describe(self) -> &'static str {
                match self {
                    $(
                        Needed::$variant => {
                            <$module::$capability as $crate::capabilities::Grantable>::NEEDS
                        }
                    )+
                }
            }

            /// Whether `capability` covers an import of `interface` (unversioned) that needs
            /// `self`: the capability's own import rule.
            fn is_met_by(self, interface: &str, capability: &Capability) -> bool {
                match (self, capability) {
                    $(
                        (Needed::$variant, Capability::$variant(grant)) => {
                            <$module::$capability as $crate::capabilities::Grantable>::satisfies(
                                grant, interface,
                            )
                        }
                    )+
                    _ => false,
                }
            }
        }

        /// Whether an import of `interface` (unversioned) is served by a capability that is
        /// always provided.
        fn served_without_grant(interface: &str) -> bool {
            let always: &[&[&str]] = &[
                $( <$always_module::$always as $crate::capabilities::HostInterfaces>::INTERFACES, )*
            ];
            always.iter().any(|interfaces| interfaces.contains(&interface))
        }

        /// What a load granted, per capability (a field named after its module), kept for each
        /// of the plugin's calls in its store. Each capability's host implementation reads its
        /// own field.
        #[derive(Clone, Default)]
        pub(crate) struct Granted {
            $(
                pub $module: <$module::$capability as $crate::capabilities::Grantable>::Granted,
            )+
        }

        impl Granted {
            /// What the calls of a plugin may use: the capabilities both declared in `manifest`
            /// and granted in `grants`, each kept by its own module.
            pub(crate) fn new(
                manifest: &$crate::capabilities::Manifest,
                grants: &$crate::capabilities::Grants,
                offered: &$crate::capabilities::Offered<'_>,
            ) -> Self {
                let both: Vec<&Capability> = manifest
                    .capabilities
                    .iter()
                    .filter(|capability| grants.capabilities.contains(*capability))
                    .collect();
                Self {
                    $(
                        $module: <$module::$capability as $crate::capabilities::Grantable>::granted(
                            &both
                                .iter()
                                .filter_map(|capability| match capability {
                                    Capability::$variant(grant) => Some(grant),
                                    _ => None,
                                })
                                .collect::<Vec<_>>(),
                            offered,
                        ),
                    )+
                }
            }
        }

        /// Links every capability `kind`'s world imports, each through its own module.
        pub(crate) fn add_to_linker(
            linker: &mut ::wasmtime::component::Linker<$crate::state::HostState>,
            kind: $crate::capabilities::PluginKind,
        ) -> ::wasmtime::Result<()> {
            $(
                <$always_module::$always as $crate::capabilities::HostInterfaces>::add_to_linker(
                    linker, kind,
                )?;
            )*
            $(
                <$module::$capability as $crate::capabilities::HostInterfaces>::add_to_linker(
                    linker, kind,
                )?;
            )+
            Ok(())
        }

        /// Every capability's interfaces, by its module's name: for checks over the whole set.
        #[cfg(test)]
        const SERVED: &[(&str, &[&str])] = &[
            $(
                (
                    stringify!($always_module),
                    <$always_module::$always as $crate::capabilities::HostInterfaces>::INTERFACES,
                ),
            )*
            $(
                (
                    stringify!($module),
                    <$module::$capability as $crate::capabilities::HostInterfaces>::INTERFACES,
                ),
            )+
        ];
    };
}

pub(super) use host_capabilities;
