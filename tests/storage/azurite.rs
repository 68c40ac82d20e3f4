//! Azurite, the Azure Storage emulator users run, for these tests: installed from npm
//! on first use (pinned 3.35.0, the last that runs on Node 20; m365-facts B§6) into the
//! target folder, started once per test process on free loopback ports, in memory, with
//! telemetry off, and stopped when the test process ends.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The pinned version.
pub const VERSION: &str = "3.35.0";

/// A running Azurite.
pub struct Azurite {
    /// `UseDevelopmentStorage`-style connection string with this instance's ports.
    pub connection_string: String,
    pub queue_port: u16,
    /// The shell that runs Azurite (ends with this process).
    _child: std::sync::Mutex<std::process::Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where the npm package lives (installed when missing).
fn azurite_js() -> PathBuf {
    if let Ok(path) = std::env::var("AZURITE_JS") {
        return PathBuf::from(path);
    }
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("azurite-{VERSION}"));
    let js = root.join("node_modules/azurite/dist/src/azurite.js");
    if js.exists() {
        return js;
    }
    // Install beside, then move into place, so two test processes never see half a tree.
    let staging = root.with_extension(format!("staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap();
    let status = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(&staging)
        .arg(format!("azurite@{VERSION}"))
        .status()
        .expect("npm is needed to install Azurite (scripts/test.sh installs Node.js and npm)");
    assert!(status.success(), "npm install azurite@{VERSION} failed");
    if std::fs::rename(&staging, &root).is_err() {
        let _ = std::fs::remove_dir_all(&staging); // another process won the race
    }
    assert!(
        js.exists(),
        "Azurite is not at {} after npm install",
        js.display()
    );
    js
}

/// The shared instance, started on first use.
pub fn azurite() -> &'static Azurite {
    static ONE: OnceLock<Azurite> = OnceLock::new();
    ONE.get_or_init(|| start("", "http"))
}

/// A second instance over HTTPS with Entra token checks on (`--oauth basic`: issuer,
/// audience and lifetime are checked, the signature is not), and its certificate (PEM).
pub fn azurite_oauth() -> &'static (Azurite, String) {
    static ONE: OnceLock<(Azurite, String)> = OnceLock::new();
    ONE.get_or_init(|| {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("azurite-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), key_pem).unwrap();
        let args = format!(
            "--oauth basic --cert '{}' --key '{}'",
            dir.join("cert.pem").display(),
            dir.join("key.pem").display()
        );
        (start(&args, "https"), cert_pem)
    })
}

fn start(extra: &str, scheme: &str) -> Azurite {
    let js = azurite_js();
    let (blob_port, queue_port, table_port) = (free_port(), free_port(), free_port());
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("azurite-run-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    // The shell stops Azurite as soon as this test process is gone, however it ends.
    let script = format!(
        "node '{js}' {extra} --silent --inMemoryPersistence --disableTelemetry --skipApiVersionCheck --loose \
         --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
         --blobPort {blob_port} --queuePort {queue_port} --tablePort {table_port} & child=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done; kill $child 2>/dev/null",
        js = js.display(),
        parent = std::process::id(),
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .current_dir(&work)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start Azurite");
    let deadline = Instant::now() + Duration::from_secs(60);
    for port in [blob_port, queue_port, table_port] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Azurite did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let connection_string = format!(
        "DefaultEndpointsProtocol={scheme};AccountName=devstoreaccount1;AccountKey={key};\
         BlobEndpoint={scheme}://127.0.0.1:{blob_port}/devstoreaccount1;\
         QueueEndpoint={scheme}://127.0.0.1:{queue_port}/devstoreaccount1;\
         TableEndpoint={scheme}://127.0.0.1:{table_port}/devstoreaccount1;"
    );
    Azurite {
        connection_string,
        queue_port,
        _child: std::sync::Mutex::new(child),
    }
}

/// A name no other test uses (tables: letters and digits; others: lower case).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
