//! Secrets typed on the terminal (a key's passphrase, a login's password), never echoed, as
//! curl and wget ask for them when the command line leaves them out.

use std::io;

use anyhow::anyhow;

use crate::cancel;

/// What to say when a secret cannot be had from the terminal.
pub struct Asking<'a> {
    /// The secret, as in "no passphrase was typed".
    pub what: &'a str,
    /// Why it is wanted, before what went wrong ("the key is encrypted").
    pub because: &'a str,
    /// How to give it without a terminal ("give its passphrase with --pass").
    pub instead: &'a str,
}

/// Asks for a secret on the controlling terminal with `prompt`, without echoing it. Ctrl-C
/// there ends the run as interrupted (exit code 130); no terminal at all (a cron job, a
/// pipeline under `setsid`) is an error that says how to give it instead.
pub fn secret(prompt: &str, asking: &Asking<'_>) -> anyhow::Result<String> {
    let Asking {
        what,
        because,
        instead,
    } = asking;
    rpassword::prompt_password(prompt).map_err(|e| match e.kind() {
        // Ctrl-C, which also asks the run to stop: it ends as interrupted.
        io::ErrorKind::Interrupted => {
            anyhow::Error::new(cancel::Interrupted).context(format!("no {what} was typed"))
        }
        io::ErrorKind::UnexpectedEof => anyhow!("{because} and no {what} was typed"),
        _ => anyhow!("{because}: {instead} (no terminal to ask on: {e})"),
    })
}
