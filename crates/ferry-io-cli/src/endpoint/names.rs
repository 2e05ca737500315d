//! Host names to connect to, resolved once for a while: a server that
//! asked the system's resolver for its upstream's addresses on every
//! connection would pay, each time, a hand-off to a thread, a read of
//! `/etc/hosts` and perhaps a DNS query (an eighth of the connection rate
//! with `localhost`). An answer is reused for [`FRESH_FOR`], and forgotten
//! as soon as a connect to it fails or is given up (see [`Pending`]), so a
//! moved host is found by the next connection. An IP is used as it is.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an answer is reused: HAProxy and nginx resolve a server's name
/// once, at start; ferry looks again this often, and at once after a
/// failure.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// The answers in use, by host and port.
static ANSWERS: LazyLock<Mutex<HashMap<(String, u16), Answer>>> = LazyLock::new(Mutex::default);

struct Answer {
    addresses: Arc<[SocketAddr]>,
    until: Instant,
}

/// The addresses of `host:port`: the system's answer, fresh or reused.
///
/// # Errors
///
/// What the system's resolver answered; an answer without addresses is
/// not an error (the caller says what it lacks).
pub async fn resolve(host: &str, port: u16) -> io::Result<Arc<[SocketAddr]>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Arc::new([SocketAddr::new(ip, port)]));
    }
    let now = Instant::now();
    if let Some(addresses) = with_answers(|answers| {
        let answer = answers.get(&(host.to_string(), port))?;
        (answer.until > now).then(|| answer.addresses.clone())
    }) {
        return Ok(addresses);
    }
    let addresses: Arc<[SocketAddr]> = tokio::net::lookup_host((host, port)).await?.collect();
    let answer = Answer {
        addresses: addresses.clone(),
        until: Instant::now() + FRESH_FOR,
    };
    with_answers(|answers| {
        // Expired answers of other hosts go too, so the table stays as
        // small as the set of hosts in use.
        answers.retain(|_, answer| answer.until > now);
        answers.insert((host.to_string(), port), answer);
    });
    Ok(addresses)
}

/// A connect to one of `host:port`'s addresses under way: unless
/// [`answered`](Self::answered), dropping it forgets the answer, so that
/// every address failing, and a connect given up (its timeout), both send
/// the next connection to the resolver.
pub struct Pending<'a> {
    host: &'a str,
    port: u16,
    answered: bool,
}

impl<'a> Pending<'a> {
    /// A connect to `host:port` starts.
    pub fn new(host: &'a str, port: u16) -> Self {
        Pending {
            host,
            port,
            answered: false,
        }
    }

    /// One of the addresses answered: the answer stays.
    pub fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.answered {
            with_answers(|answers| answers.remove(&(self.host.to_string(), self.port)));
        }
    }
}

fn with_answers<T>(f: impl FnOnce(&mut HashMap<(String, u16), Answer>) -> T) -> T {
    f(&mut ANSWERS.lock().unwrap_or_else(PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test asks for its own port: the table is the process's.

    #[tokio::test]
    async fn an_answer_is_reused_until_forgotten() {
        let first = resolve("localhost", 40_001).await.unwrap();
        assert!(!first.is_empty());
        assert!(first
            .iter()
            .all(|address| address.port() == 40_001 && address.ip().is_loopback()));
        let again = resolve("localhost", 40_001).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "asked the resolver again");
        Pending::new("localhost", 40_001).answered();
        let kept = resolve("localhost", 40_001).await.unwrap();
        assert!(Arc::ptr_eq(&first, &kept), "forgot an answer that answered");
        // Every address failed, or the connect was given up.
        drop(Pending::new("localhost", 40_001));
        let fresh = resolve("localhost", 40_001).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &fresh), "reused a forgotten answer");
        assert_eq!(first, fresh);
    }

    #[tokio::test]
    async fn an_ip_is_used_as_it_is() {
        let v4 = resolve("127.0.0.1", 40_002).await.unwrap();
        assert_eq!(&*v4, &["127.0.0.1:40002".parse().unwrap()]);
        let v6 = resolve("::1", 40_002).await.unwrap();
        assert_eq!(&*v6, &["[::1]:40002".parse().unwrap()]);
        with_answers(|answers| {
            assert!(!answers
                .keys()
                .any(|(host, _)| host == "127.0.0.1" || host == "::1"));
        });
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_an_error_and_not_kept() {
        let error = resolve("nonexistent.invalid", 40_003).await.unwrap_err();
        assert!(error.to_string().contains("lookup"), "{error}");
        with_answers(|answers| {
            assert!(!answers.contains_key(&("nonexistent.invalid".to_string(), 40_003)));
        });
    }
}
