//! With socat, HAProxy and nginx missing, the serve scenarios skip them
//! with a note and still measure direct. (Its own test binary: it empties
//! PATH.)

use std::path::Path;

use ferry_io_bench::bench_report::Figures;
use ferry_io_bench::serve::Relay;
use ferry_io_bench::{summary, Bench, Preset, Scenario, ServeLoad};

#[test]
fn missing_socat_haproxy_and_nginx_are_skipped_with_a_note() {
    let empty = tempfile::tempdir().expect("tempdir");
    // The only test in this process, so no other test sees the change.
    std::env::set_var("PATH", empty.path());

    let mut bench = Bench::new(Path::new("/nonexistent/ferry").into(), Preset::Tiny);
    bench.scenarios = vec![
        Scenario::Serve(ServeLoad::Flows(4)),
        Scenario::Serve(ServeLoad::ShortConnections),
    ];
    bench.relays = vec![Relay::Direct, Relay::Socat, Relay::Haproxy, Relay::Nginx];
    let report = bench.run(|_| {}).expect("run");

    for scenario in &report.scenarios {
        let Figures::Serve(serve) = &scenario.figures else {
            panic!("{}: not a serve report", scenario.scenario)
        };
        assert_eq!(serve.relays, [Relay::Direct], "{}", scenario.scenario);
        let skipped: Vec<(Relay, &str)> = serve
            .skipped
            .iter()
            .map(|s| (s.relay, s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (Relay::Socat, "not installed"),
                (Relay::Haproxy, "not installed"),
                (Relay::Nginx, "not installed"),
            ]
        );
    }
    assert_eq!(
        report.notes,
        [
            "socat skipped in the serve scenarios: not installed.",
            "haproxy skipped in the serve scenarios: not installed.",
            "nginx skipped in the serve scenarios: not installed.",
        ]
    );
    let text = summary::text(&report);
    assert!(text.contains("skipped"), "{text}");
    assert!(text.contains("Note: socat skipped"), "{text}");
}
