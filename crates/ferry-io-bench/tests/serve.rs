//! The serve scenarios move exactly their amount directly and through
//! socat, HAProxy and nginx where those are installed, skip them with a
//! reason where not, and leave no relay process behind.

use std::path::Path;

use ferry_io_bench::serve::{self, Relay, ServeLoad};
use ferry_io_bench::{Preset, Scenario, Unit};

/// Whether `program` is an executable file on PATH.
fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// No ferry binary here: the relays that need none.
const NO_FERRY: &str = "/nonexistent/ferry";

#[test]
fn every_load_moves_exactly_its_amount_through_every_relay_that_starts() {
    let runtime = runtime();
    let relays = [Relay::Direct, Relay::Socat, Relay::Haproxy, Relay::Nginx];
    for load in ServeLoad::ALL {
        let amount = load.amount(Preset::Tiny);
        let mut seen = Vec::new();
        let report = serve::run(
            load,
            &relays,
            amount,
            2,
            Path::new(NO_FERRY),
            &runtime,
            |round, relay| seen.push((round, relay)),
        )
        .unwrap_or_else(|err| panic!("{load}: {err}"));

        for relay in [Relay::Socat, Relay::Haproxy, Relay::Nginx] {
            let ran = report.relays.contains(&relay);
            let skipped = report.skipped.iter().find(|s| s.relay == relay);
            if let Some(reason) = skipped.map(|s| s.reason.as_str()) {
                eprintln!("{load}: {relay} skipped: {reason}");
            }
            if relay == Relay::Nginx && installed("nginx") && !ran {
                // An nginx built or installed without its stream module
                // cannot relay TCP: skipped, saying so.
                let reason = skipped.map_or("", |s| s.reason.as_str());
                assert!(reason.contains("stream module"), "{load}: {reason}");
            } else if installed(relay.name()) {
                assert!(
                    ran,
                    "{load}: {relay} is installed but was skipped: {skipped:?}"
                );
            } else {
                assert!(!ran, "{load}: {relay} ran without being installed");
                assert_eq!(
                    skipped.map(|s| s.reason.as_str()),
                    Some("not installed"),
                    "{load}"
                );
            }
        }
        assert_eq!(report.relays[0], Relay::Direct, "{load}");
        assert_eq!(report.runs.len(), 2 * report.relays.len(), "{load}");
        assert_eq!(
            seen.len(),
            report.runs.len(),
            "{load}: progress before every run"
        );
        for run in &report.runs {
            assert_eq!(run.amount, amount, "{load} through {}", run.relay);
            assert!(run.per_second > 0.0, "{load} through {}", run.relay);
        }
        assert_eq!(report.unit, load.unit());
        let direct = report.summary(Relay::Direct).expect("direct ran");
        assert_eq!(direct.to_direct, Some(1.0), "{load}");
        let timed = !matches!(load, ServeLoad::Flows(_));
        for summary in &report.summaries {
            assert_eq!(summary.runs, 2, "{load}");
            assert!(summary.to_direct.is_some(), "{load}");
            // Round trips and short connections are timed one by one.
            assert_eq!(summary.latency_median_us.is_some(), timed, "{load}");
            assert_eq!(summary.latency_p99_us.is_some(), timed, "{load}");
        }
    }
}

#[test]
fn loads_are_named_and_counted_as_documented() {
    let names: Vec<String> = ServeLoad::ALL.iter().map(|l| l.name()).collect();
    assert_eq!(
        names,
        [
            "serve-1",
            "serve-4",
            "serve-16",
            "serve-cps",
            "serve-http",
            "serve-ping-pong"
        ]
    );
    assert_eq!(ServeLoad::Flows(4).unit(), Unit::Bytes);
    assert_eq!(ServeLoad::ShortConnections.unit(), Unit::Connections);
    assert_eq!(ServeLoad::Http.unit(), Unit::Connections);
    let about = Scenario::Serve(ServeLoad::Http).about();
    for said in [
        format!("{}-byte request", serve::HTTP_REQUEST.len()),
        format!("{} KiB body", serve::HTTP_BODY / 1024),
        format!("{} clients", serve::HTTP_CLIENTS),
    ] {
        assert!(about.contains(&said), "{about}");
    }
    assert_eq!(ServeLoad::PingPong.unit(), Unit::RoundTrips);
}

/// A relay that cannot start is skipped with its own words, and ferry's
/// relay not starting is an error rather than a skipped row.
#[test]
fn ferry_that_cannot_start_fails_the_scenario() {
    let runtime = runtime();
    let err = serve::run(
        ServeLoad::Flows(1),
        &[Relay::Direct, Relay::Ferry],
        1000,
        1,
        Path::new(NO_FERRY),
        &runtime,
        |_, _| {},
    )
    .expect_err("no ferry binary");
    assert!(err.to_string().contains("cannot start ferry"), "{err}");
}

#[test]
fn a_relay_process_is_killed_and_reaped_when_dropped() {
    if !installed("socat") {
        eprintln!("socat is not installed; skipping");
        return;
    }
    let runtime = runtime();
    let backend = runtime
        .block_on(serve::Backend::start(serve::Service::Sink))
        .expect("backend");
    let process = Relay::Socat
        .start(Path::new(NO_FERRY), backend.addr())
        .expect("start socat")
        .expect("a process");
    let pid = process.pid();
    assert_eq!(
        ferry_io_bench::listening_ports(pid).expect("its fds"),
        [process.port()]
    );
    drop(process);
    // Reaped: no /proc entry left, not even a zombie's.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if parent == Some(pid) {
            found.push(child);
        }
    }
    found
}

/// nginx runs a master and a worker: both end when the relay is dropped,
/// the worker reaped by its master (not left a zombie for init).
#[test]
fn nginx_and_its_worker_end_when_dropped() {
    if !installed("nginx") {
        eprintln!("nginx is not installed; skipping");
        return;
    }
    let runtime = runtime();
    let backend = runtime
        .block_on(serve::Backend::start(serve::Service::Sink))
        .expect("backend");
    let process = match Relay::Nginx.start(Path::new(NO_FERRY), backend.addr()) {
        Ok(process) => process.expect("a process"),
        Err(err) if err.to_string().contains("stream module") => {
            eprintln!("{err}; skipping");
            return;
        }
        Err(err) => panic!("start nginx: {err}"),
    };
    let master = process.pid();
    assert_eq!(
        ferry_io_bench::listening_ports(master).expect("its fds"),
        [process.port()]
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let workers = loop {
        let workers = children(master);
        if !workers.is_empty() || std::time::Instant::now() > deadline {
            break workers;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(workers.len(), 1, "worker_processes 1: {workers:?}");
    drop(process);
    for pid in [master, workers[0]] {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "{pid} reaped");
    }
}

/// README's `ferry bench` section quotes the peers' configurations exactly
/// as the serve scenarios write them, so a run can be repeated by hand.
#[test]
fn readme_quotes_the_peers_configurations() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let (listen, backend) = (
        "127.0.0.1:8080".parse().expect("address"),
        "127.0.0.1:9090".parse().expect("address"),
    );
    let haproxy = serve::haproxy_config(listen, backend);
    assert!(readme.contains(&haproxy), "README quotes:\n{haproxy}");
    let module = Path::new("/usr/lib/nginx/modules/ngx_stream_module.so");
    let nginx = serve::nginx_config(listen, backend, Some(module));
    assert!(readme.contains(&nginx), "README quotes:\n{nginx}");
}

/// serve-http's exchange is HTTP/1.1 as a server and wrk speak it: a GET
/// head asking to close, and a 200 whose Content-Length is its body.
#[test]
fn the_http_exchange_is_well_formed() {
    let request = std::str::from_utf8(serve::HTTP_REQUEST).expect("ASCII");
    assert!(request.starts_with("GET /"), "{request}");
    assert!(request.contains("\r\nConnection: close\r\n"), "{request}");
    assert!(request.ends_with("\r\n\r\n"), "{request}");
    assert_eq!(request.matches("\r\n\r\n").count(), 1, "{request}");
    assert!((90..=110).contains(&request.len()), "about 100 bytes");

    let response = serve::http_response();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = std::str::from_utf8(&response[..split]).expect("ASCII head");
    let body = &response[split + 4..];
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nConnection: close"), "{head}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {}", body.len())),
        "{head}"
    );
    assert_eq!(body.len(), serve::HTTP_BODY);
}

/// A relay's ratio to direct is taken round by round, as the copies' ratios
/// to tokio are: the median of its rate over direct's in the same round,
/// which can differ from the ratio of the two medians.
#[test]
fn ratios_to_direct_are_medians_of_per_round_ratios() {
    let run = |round, relay, per_second| serve::ServeRun {
        round,
        position: 0,
        relay,
        amount: 1,
        seconds: 1.0 / per_second,
        per_second,
        latency_median_us: None,
        latency_p99_us: None,
    };
    // Per round, ferry over direct: 0.5, 0.9, 0.3; the medians: 120 over 200.
    let runs = vec![
        run(0, Relay::Direct, 100.0),
        run(0, Relay::Ferry, 50.0),
        run(1, Relay::Direct, 200.0),
        run(1, Relay::Ferry, 180.0),
        run(2, Relay::Direct, 400.0),
        run(2, Relay::Ferry, 120.0),
    ];
    let report = serve::ServeReport::new(
        ServeLoad::Flows(1),
        1,
        vec![Relay::Direct, Relay::Ferry],
        runs,
        Vec::new(),
    );
    let ferry = report.summary(Relay::Ferry).expect("ferry ran");
    assert_eq!(ferry.spread.median, 120.0);
    assert_eq!(ferry.to_direct, Some(0.5));
    let direct = report.summary(Relay::Direct).expect("direct ran");
    assert_eq!(direct.to_direct, Some(1.0));
}
