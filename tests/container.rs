//! The container's runtime contract, tested on the bare binary (these
//! machines have no Docker engine): started as a non-root user in an /app
//! like the image's, with a read-only posts/, an empty data/, configuration
//! only from the environment and a secret file, it posts, reports healthy,
//! and SIGTERM ends it with exit 0 within 10 s.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

use campaign_bot::publish::outbox::read_lines;
use common::*;

/// `nobody`, when the tests run as root (as in CI); otherwise the tests
/// already run as a non-root user.
const NOBODY: u32 = 65534;

use common::is_root;

fn chown(path: &Path, uid: u32) {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{uid}"))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn bot(app: &Path, server: &MockServer, secret: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("campaign-bot"));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(app)
        .env("LOG_FORMAT", "json")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "* * * * * *")
        .env("CAMPAIGN_BOT__TARGETS__OUTBOX__KIND", "outbox")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_FILE", secret)
        .env("CAMPAIGN_BOT__TARGETS__MASTO__LANGUAGES", "fr;ar");
    if is_root() {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

#[tokio::test]
async fn runs_as_non_root_with_read_only_posts_env_config_and_a_secret_file() {
    let server = MockServer::start().await;
    common::serve_mastodon_media(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("authorization", "Bearer token-from-secret-file"))
        .respond_with(recorded("test_status_post_none_public.json", 0))
        .mount(&server)
        .await;
    serve(
        &server,
        "GET /api/v2/instance",
        recorded("test_instance.json", 0),
    )
    .await;

    // /app as in the image: posts/ read-only, data/ empty and the user's own.
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = root.path().join("app");
    std::fs::create_dir_all(app.join("data")).unwrap();
    copy_posts(&app);
    assert!(
        Command::new("chmod")
            .args(["-R", "a-w,a+rX"])
            .arg(app.join("posts"))
            .status()
            .unwrap()
            .success()
    );
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
    let secrets = root.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let secret = secrets.join("mastodon_token");
    std::fs::write(&secret, "token-from-secret-file\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o444)).unwrap();
    if is_root() {
        chown(&app.join("data"), NOBODY);
    }

    let mut child = bot(&app, &server, &secret)
        .arg("run")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let outbox = app.join("data/outbox.jsonl");
    while read_lines(&outbox).unwrap_or_default().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        read_lines(&outbox).unwrap().len() >= 2,
        "the outbox got no posts"
    );

    let health = bot(&app, &server, &secret)
        .args(["status", "--health"])
        .output()
        .unwrap();
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&health.stdout), "healthy\n");

    let stop = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            stop.elapsed() < Duration::from_secs(10),
            "SIGTERM did not stop it within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stdout);
    // JSON logs on stdout, and the secret in none of them.
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{logs}"
    );
    assert!(!logs.contains("token-from-secret-file"));

    // The Mastodon target read its token from the file.
    let posted = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/api/v1/statuses")
        .count();
    assert!(posted >= 1);
    // posts/ was not written to; data/ holds the state.
    assert!(app.join("data/state.db").exists());
    let after = bot(&app, &server, &secret)
        .args(["status", "--health"])
        .output()
        .unwrap();
    assert_eq!(after.status.code(), Some(3), "stopped means unhealthy");
}

/// The Dockerfile's build stage, replayed without Docker: its `RUN` steps
/// run in a folder holding only what its `COPY` lines bring (as
/// `.dockerignore` leaves them), with `cargo build --release` replaced by
/// `cargo fetch --offline` for this host, which reads every manifest target the build
/// would. A target added to Cargo.toml without its file in the build
/// context fails here, not in the image build.
#[test]
fn the_dockerfile_build_stage_finds_every_file_cargo_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let joined = dockerfile.replace("\\\n", " ");
    let stage: Vec<&str> = joined
        .lines()
        .skip_while(|l| !l.starts_with("FROM rust:"))
        .skip(1)
        .take_while(|l| !l.starts_with("FROM "))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut steps = 0;
    let mut copied = Vec::new();
    for line in stage {
        if let Some(args) = line.strip_prefix("COPY ") {
            let parts: Vec<&str> = args.split_whitespace().collect();
            let (dest, sources) = parts.split_last().unwrap();
            for src in sources {
                copied.push(src.to_string());
                let to = if dest.ends_with('/') && *dest != "./" {
                    dir.path().join(dest).join(src)
                } else if *dest == "./" {
                    dir.path().join(src)
                } else {
                    dir.path().join(dest)
                };
                let status = Command::new("cp")
                    .args(["-r", "--no-target-directory"])
                    .arg(root.join(src))
                    .arg(&to)
                    .status()
                    .unwrap();
                assert!(status.success(), "COPY {src} {dest}");
            }
            steps += 1;
        } else if let Some(script) = line.strip_prefix("RUN ") {
            let script = script
                .replace(
                    "cargo build --release --locked",
                    "cargo fetch --locked --offline --target \"$(rustc -vV | sed -n 's/^host: //p')\"",
                )
                .replace("mkdir -p /out/data /out/posts", "true");
            let out = Command::new("sh")
                .args(["-c", &script])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "RUN {script}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            steps += 1;
        }
    }
    assert!(steps >= 4, "the build stage has COPY and RUN steps");
    let ignored = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    for copied in &copied {
        assert!(
            !ignored.lines().any(|l| l.trim() == copied.as_str()),
            "{copied} is copied but .dockerignore leaves it out"
        );
    }
}

/// The block of `key: |` in a Kubernetes manifest, as the file it mounts.
fn block_scalar(manifest: &str, key: &str) -> String {
    let mut lines = manifest
        .lines()
        .skip_while(|l| l.trim() != format!("{key}: |"));
    let head = lines.next().expect("the key is in the manifest");
    let indent = head.len() - head.trim_start().len() + 2;
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Kubernetes manifests' configuration is one the bot loads, and each
/// secret file it names is a key of the Secret, where the Deployment mounts
/// it: the one replica on SQLite, and the two on PostgreSQL (whose store URL
/// is such a file too).
#[test]
fn the_kubernetes_configuration_loads_and_names_the_mounted_secrets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    for (dir, replicas) in [(root.clone(), 1), (root.join("replicas"), 2)] {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let toml = block_scalar(&read("configmap.yaml"), "local.toml");
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("local.toml");
        std::fs::write(&file, toml).unwrap();
        let config = campaign_bot::config::Config::load(&campaign_bot::config::Sources {
            file: Some(file),
            env: Some(Default::default()),
        })
        .unwrap_or_else(|e| panic!("{}/configmap.yaml: {e}", dir.display()));
        assert_eq!(
            config.target_names().collect::<Vec<_>>(),
            ["bluesky", "mastodon"]
        );
        assert_eq!(
            config.listen.map(|a| a.port()),
            Some(9184),
            "the probes' port"
        );

        let deployment = read("deployment.yaml");
        assert!(deployment.contains("mountPath: /run/secrets/campaign-bot\n"));
        assert!(deployment.contains("mountPath: /app/config/local.toml\n"));
        assert!(deployment.contains(&format!("replicas: {replicas}\n")));
        let secret = read("secret.example.yaml");
        let mut files: Vec<(String, &campaign_bot::secret::SecretSource)> = config
            .targets
            .iter()
            .flat_map(|t| t.network.secrets().into_iter().map(|s| (t.name.clone(), s)))
            .collect();
        match &config.store {
            Some(store) => files.push(("[store]".into(), &store.url)),
            None => assert_eq!(replicas, 1, "two replicas need the shared store"),
        }
        for (name, source) in files {
            let campaign_bot::secret::SecretSource::File(path) = source else {
                panic!("{name}: a secret from a file, as the Secret mounts it");
            };
            let key = path
                .strip_prefix("/run/secrets/campaign-bot")
                .unwrap_or_else(|_| panic!("{name}: {} is not in the mount", path.display()));
            assert!(
                secret.contains(&format!("\n  {}: ", key.display())),
                "{name}: the Secret has no key {}",
                key.display()
            );
        }
    }
}
