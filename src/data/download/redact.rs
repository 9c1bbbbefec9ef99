//! Keeping a mirror URL's password out of every log line and error.

/// `url` with the password of its user information, if any, replaced by `***`:
/// `https://user:secret@host/` becomes `https://user:***@host/`. Every URL shown goes through it.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    let authority_len = url[authority_start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - authority_start);
    let authority = &url[authority_start..authority_start + authority_len];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}:***{}",
        &url[..authority_start],
        &authority[..colon],
        &url[authority_start + at..]
    )
}

/// The password in `url`'s user information, if any (to scrub it from error texts too).
pub(super) fn password(url: &str) -> Option<&str> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let secret = &userinfo[userinfo.find(':')? + 1..];
    (!secret.is_empty()).then_some(secret)
}
