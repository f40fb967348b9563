//! Garrison's integration tests, as one test binary: every binary links the whole server
//! (Leptos, wasmtime, both database drivers), so one link instead of four saves minutes and
//! gigabytes on a cold CI run.
#[macro_use]
mod common;

mod api;
mod blueprint_cli;
mod blueprint_export;
mod blueprint_instances;
mod blueprint_lifecycle;
mod blueprint_oci;
mod blueprints;
mod channel;
mod config;
mod escalation;
mod outpost_access;
mod outposts;
mod plugins;
mod security;
mod transactions;
mod ui;
