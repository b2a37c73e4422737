//! Subcommands that read what crossbar stored, without starting it.

pub mod calls;
