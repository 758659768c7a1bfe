//! Measurement 3: an admin signs in on A over plain HTTP, through the
//! emulator's sign-in form (as `ims-demo/tests/signed_in.rs` does without a
//! browser); A's session cookie is then sent to B and C.

use super::procs::Demo;
use super::{Fleet, http};
use crate::commands::Result;

/// A signed-in admin's cookies on A (`name=value` each).
#[derive(Debug, Clone, Default)]
pub(super) struct Jar(Vec<String>);

impl Jar {
    fn take(&mut self, answer: &http::Answer) {
        for cookie in answer.cookies() {
            let name = cookie.split('=').next().unwrap_or_default().to_owned();
            self.0.retain(|c| !c.starts_with(&format!("{name}=")));
            // An emptied cookie is a removal.
            if !cookie.ends_with('=') {
                self.0.push(cookie);
            }
        }
    }

    /// The `Cookie` header.
    pub(super) fn header(&self) -> String {
        self.0.join("; ")
    }
}

fn location(answer: &http::Answer, step: &str) -> Result<String> {
    answer.header("location").map(str::to_owned).ok_or_else(|| {
        format!(
            "{step}: no redirect ({}): {}",
            answer.status,
            answer.body.chars().take(200).collect::<String>()
        )
    })
}

/// Signs in on `demo` as the emulator's member; the session's cookies.
pub(super) fn sign_in(demo: &Demo) -> Result<Jar> {
    let mut jar = Jar::default();
    let mut ims = Jar::default();
    let login = format!("{}/admin/ims/login", demo.base);
    let start = http::once("GET", &login, &[], "")?;
    jar.take(&start);
    let authorize = http::resolve(&login, &location(&start, "GET /admin/ims/login")?)?;
    let answer = http::once("GET", &authorize, &[], "")?;
    ims.take(&answer);
    let sign_in = http::resolve(&authorize, &location(&answer, "IMS's authorize")?)?;
    let page = http::once("GET", &sign_in, &[("Cookie", &ims.header())], "")?;
    ims.take(&page);
    let (action, mut fields) = http::first_form(&page.body)
        .ok_or_else(|| format!("no form on the emulator's sign-in page ({})", page.status))?;
    for (name, value) in [
        ("email", super::MEMBER_EMAIL),
        ("password", super::MEMBER_PASSWORD),
        ("action", "login"),
    ] {
        fields.push((name.to_owned(), value.to_owned()));
    }
    let target = http::resolve(&sign_in, &action)?;
    let posted = http::once(
        "POST",
        &target,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &ims.header()),
        ],
        &http::form(&fields),
    )?;
    let callback = http::resolve(&target, &location(&posted, "the sign-in form")?)?;
    let landed = http::once("GET", &callback, &[("Cookie", &jar.header())], "")?;
    jar.take(&landed);
    let home = location(&landed, "the callback")?;
    if !home.ends_with("/admin") {
        return Err(format!(
            "the callback sent the browser to {home}, not /admin"
        ));
    }
    Ok(jar)
}

/// A session shared across the fleet: what B and C answered with the cookie
/// of a sign-in on A.
#[derive(Debug)]
pub(super) struct SessionOnOtherInstances {
    /// A's own answer to `GET /admin` with the cookie (the sign-in worked).
    pub(super) on_a: u16,
    /// Per other instance: name, status, where it redirected.
    pub(super) others: Vec<(&'static str, u16, Option<String>)>,
    /// IMS calls while B and C answered.
    pub(super) ims_calls: u64,
    pub(super) ims_summary: String,
}

impl SessionOnOtherInstances {
    pub(super) fn met(&self) -> bool {
        self.on_a == 200 && self.ims_calls == 0 && self.others.iter().all(|(_, s, _)| *s == 200)
    }
}

/// Signs in on A, then `GET /admin` on B and C with A's cookie.
pub(super) fn shared_session(fleet: &Fleet, jar: &Jar) -> Result<SessionOnOtherInstances> {
    let cookie = jar.header();
    let [a, others @ ..] = fleet.demos.as_slice() else {
        return Err("no instance".into());
    };
    let on_a = http::once(
        "GET",
        &format!("{}/admin", a.base),
        &[("Cookie", &cookie)],
        "",
    )?;
    fleet.emulator.reset_stats()?;
    let mut answers = Vec::new();
    for demo in others {
        let answer = http::once(
            "GET",
            &format!("{}/admin", demo.base),
            &[("Cookie", &cookie)],
            "",
        )?;
        answers.push((
            demo.name,
            answer.status,
            answer.header("location").map(str::to_owned),
        ));
    }
    let stats = fleet.emulator.stats()?;
    Ok(SessionOnOtherInstances {
        on_a: on_a.status,
        others: answers,
        ims_calls: stats.total(),
        ims_summary: stats.summary(),
    })
}
