//! Uncached RS256 verifications per second on one core: ims-core's
//! `LocalVerifier` against `openssl speed rsa2048` on the same machine, with
//! the bare aws-lc-rs primitive as a second reference.

use std::process::Command;

use super::{build_release, example, json_line, number, pinned, verdict};
use crate::commands::Result;
use crate::report;

/// The name for `--only` and of the `BENCHMARKS.md` section.
pub(crate) const NAME: &str = "verify-rate";
/// Seconds each measurement runs (openssl's `-seconds` too).
const SECONDS: u32 = 3;
/// The core both measurements are pinned to.
const CORE: u32 = 1;
/// The target: ours over openssl's verify/s.
const TARGET: f64 = 0.7;

/// Runs the benchmark and writes its section.
pub(crate) fn run() -> Result {
    build_release(
        "the verify_rate example",
        &["-p", "ims-core", "--example", "verify_rate"],
    )?;
    let openssl = openssl_verify_rate()?;
    let mut command = pinned(CORE, &example("verify_rate").to_string_lossy());
    command.arg(SECONDS.to_string());
    let ours = json_line("the verify_rate example", command)?;
    let local = number(&ours, "local_verifier")?;
    let parsed = number(&ours, "aws_lc_parsed_key")?;
    let per_call = number(&ours, "aws_lc_key_per_call")?;
    let ratio = local / openssl;
    let markdown = format!(
        "## Local verification: uncached RS256 verifications/s on one core\n\n\
         `LocalVerifier::verify` of IMS-shaped RS256 tokens with the key set cached (no\n\
         network; header, key lookup, signature, claims), one thread, against\n\
         `openssl speed -seconds {SECONDS} rsa2048` (RSA-2048 verify/s); both pinned to core {CORE},\n\
         both counted per second of CPU time (openssl's default; ours from\n\
         `/proc/thread-self/schedstat`), so other load on the machine does not skew the ratio.\n\
         The aws-lc-rs lines verify the same signed bytes with the bare primitive\n\
         (`ims-core/examples/verify_rate.rs`).\n\n\
         | what | verifications per CPU second | vs openssl |\n|---|---|---|\n\
         | `openssl speed rsa2048` (verify) | {openssl:.0} | 1.000 |\n\
         | aws-lc-rs, key parsed once (`ParsedPublicKey`) | {parsed:.0} | {:.3} |\n\
         | aws-lc-rs, key built per call (`RsaPublicKeyComponents`) | {per_call:.0} | {:.3} |\n\
         | **ims-core `LocalVerifier`** | **{local:.0}** | **{ratio:.3}** |\n\n\
         **Ratio {ratio:.3}** ({} the target of {TARGET}); `LocalVerifier` runs at\n\
         {local_vs_parsed:.3} of the bare primitive's rate (key parsed once): the rest is ours.\n\n\
         Reproduce: `cargo xtask bench --only {NAME}`.\n",
        parsed / openssl,
        per_call / openssl,
        verdict(ratio >= TARGET),
        local_vs_parsed = local / parsed,
    );
    eprintln!("{markdown}");
    report::write_section(NAME, &markdown)
}

/// `openssl speed rsa2048`'s verify/s, on one core.
fn openssl_verify_rate() -> Result<f64> {
    let mut command: Command = pinned(CORE, "openssl");
    command.args(["speed", "-seconds", &SECONDS.to_string(), "rsa2048"]);
    let out = command
        .output()
        .map_err(|e| format!("cannot run openssl (is it installed?): {e}"))?;
    if !out.status.success() {
        return Err(format!("openssl speed failed ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    parse_openssl(&text).ok_or_else(|| format!("no rsa 2048 verify/s in openssl's output:\n{text}"))
}

/// The verify/s of the `rsa 2048 bits` line, by the column headed
/// `verify/s` (OpenSSL 3.0 prints sign and verify; later versions add
/// encrypt and decrypt columns).
fn parse_openssl(text: &str) -> Option<f64> {
    let mut rates_header: Option<Vec<&str>> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.contains(&"verify/s") {
            rates_header = Some(words.into_iter().filter(|w| w.ends_with("/s")).collect());
            continue;
        }
        if words.first() == Some(&"rsa") && words.get(1) == Some(&"2048") {
            let header = rates_header.as_ref()?;
            let column = header.iter().position(|w| *w == "verify/s")?;
            // After "rsa 2048 bits": times (ending in `s`), then the rates.
            let rates: Vec<f64> = words[3..]
                .iter()
                .filter(|w| !w.ends_with('s'))
                .filter_map(|w| w.parse().ok())
                .collect();
            return rates.get(column).copied();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_3_0_and_later_layouts_parse() {
        let three_zero = "                  sign    verify    sign/s verify/s\n\
                          rsa 2048 bits 0.000525s 0.000036s   1905.9  27647.1\n";
        assert_eq!(parse_openssl(three_zero), Some(27647.1));
        let later = "                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s\n\
                     rsa  2048 bits 0.000558s 0.000016s 0.000017s 0.000565s   1792.6  62133.6  57744.6   1770.1\n";
        assert_eq!(parse_openssl(later), Some(62133.6));
        assert_eq!(parse_openssl("nothing"), None);
    }
}
