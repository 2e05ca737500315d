//! nginx as a relay: its stream module relaying one TCP listener.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::config_dir::{free_port, ConfigDir};

/// The configuration nginx runs with in the serve scenarios: the stream
/// module relaying `listen` to `backend` with one worker process, nginx's
/// defaults otherwise (`proxy_timeout` raised so no run is cut short).
/// `stream_module` is the module to load where nginx has it as a dynamic
/// module (Debian's `libnginx-mod-stream`); `None` where it is built in.
/// `worker_connections` is far above what the serve scenarios open (a
/// relayed connection takes two) and below the usual 1,024 open files.
///
/// The run adds what belongs to one process, on the command line:
/// `-e stderr -g 'daemon off; pid DIR/nginx.pid;'`.
/// README's `ferry bench` section quotes it; a test keeps the two the same.
///
/// ```
/// use std::path::Path;
///
/// let config = ferry_io_bench::serve::nginx_config(
///     "127.0.0.1:8080".parse().unwrap(),
///     "127.0.0.1:9090".parse().unwrap(),
///     Some(Path::new("/usr/lib/nginx/modules/ngx_stream_module.so")),
/// );
/// assert!(config.starts_with("load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"));
/// assert!(config.contains("worker_processes 1;\n"));
/// assert!(config.contains("        proxy_pass 127.0.0.1:9090;\n"));
/// ```
pub fn nginx_config(
    listen: SocketAddr,
    backend: SocketAddr,
    stream_module: Option<&Path>,
) -> String {
    let load = stream_module.map_or(String::new(), |module| {
        format!("load_module {};\n", module.display())
    });
    format!(
        "{load}worker_processes 1;
events {{
    worker_connections 1000;
}}
stream {{
    server {{
        listen {listen};
        proxy_pass {backend};
        proxy_timeout 5m;
    }}
}}
"
    )
}

/// `nginx -e stderr -p DIR -c DIR/nginx.conf -g 'daemon off; pid
/// DIR/nginx.pid;'` relaying a free loopback port to `backend`, and the
/// directory of its configuration (to be kept until nginx exits).
///
/// # Errors
///
/// [`io::ErrorKind::NotFound`] where nginx is not installed; nginx without
/// its stream module, saying which package has it.
pub(super) fn command(backend: SocketAddr) -> io::Result<(Command, ConfigDir)> {
    let module = stream_module()?;
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let text = nginx_config(listen, backend, module.as_deref());
    let config = ConfigDir::write("nginx", "nginx.conf", &text)?;
    let mut command = Command::new("nginx");
    command
        .arg("-e")
        .arg("stderr")
        .arg("-p")
        .arg(config.dir())
        .arg("-c")
        .arg(config.file())
        .arg("-g")
        .arg(format!(
            "daemon off; pid {};",
            config.dir().join("nginx.pid").display()
        ));
    Ok((command, config))
}

/// Where nginx's stream module is to be loaded from: `None` when it is
/// built in, its file when nginx was built with it as a dynamic module
/// (as `nginx -V` says).
///
/// # Errors
///
/// [`io::ErrorKind::NotFound`] where nginx is not installed; nginx built
/// without the module, or its dynamic module not installed.
fn stream_module() -> io::Result<Option<PathBuf>> {
    let output = Command::new("nginx").arg("-V").output()?;
    // nginx -V prints to stderr.
    let text = String::from_utf8_lossy(&output.stderr);
    let configure: Vec<&str> = text
        .lines()
        .find_map(|line| line.strip_prefix("configure arguments:"))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let option = |name: &str| {
        configure
            .iter()
            .find_map(|arg| arg.strip_prefix(name)?.strip_prefix('='))
    };
    if configure.contains(&"--with-stream") {
        return Ok(None);
    }
    if option("--with-stream") != Some("dynamic") {
        return Err(io::Error::other(
            "nginx was built without its stream module",
        ));
    }
    let modules = match option("--modules-path") {
        Some(path) => PathBuf::from(path),
        None => Path::new(option("--prefix").unwrap_or("/usr/local/nginx")).join("modules"),
    };
    let module = modules.join("ngx_stream_module.so");
    if module.is_file() {
        Ok(Some(module))
    } else {
        Err(io::Error::other(format!(
            "nginx's stream module is not installed (no {}; Debian: libnginx-mod-stream)",
            module.display()
        )))
    }
}
