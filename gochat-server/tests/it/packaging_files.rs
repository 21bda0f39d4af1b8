//! The shipped packaging agrees with itself and with the documented layout: the Docker image
//! and compose file (docker cannot run in CI, so they are read and checked here), and the
//! system unit, sysusers.d/tmpfiles.d entries and conffile of the Debian package.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Yaml {
    let docs = YamlLoader::load_from_str(&read("docker/compose.yml")).expect("compose is YAML");
    docs.into_iter().next().expect("one document")
}

fn strings(node: &Yaml) -> Vec<String> {
    node.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Dockerfile instructions of the last stage, continuation lines joined.
fn final_stage() -> Vec<String> {
    let text = read("docker/Dockerfile").replace("\\\n", " ");
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM");
    lines[last_from..].to_vec()
}

#[test]
fn dockerignore_keeps_build_output_history_and_secrets_out() {
    let text = read(".dockerignore");
    let entries: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    for needed in [".git", "target", "docker/.env"] {
        assert!(entries.contains(&needed), ".dockerignore lacks {needed}");
    }
}

#[test]
fn image_runs_unprivileged_with_the_probe_as_health_check() {
    let stage = final_stage();
    let user = stage
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets USER");
    let name = user.split(':').next().unwrap_or_default().trim();
    assert!(
        !["root", "0", ""].contains(&name),
        "the image runs as {user:?}"
    );
    let health = stage
        .iter()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK");
    assert!(
        health.contains(r#"["gochat-server", "probe""#),
        "the health check is the probe: {health}"
    );
    assert!(!health.contains("--insecure") || health.contains("--tls"));
    let expose = stage
        .iter()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("EXPOSE");
    for port in ["9037", "8037"] {
        assert!(
            expose.split_whitespace().any(|p| p == port),
            "EXPOSE {port}"
        );
    }
    // The probe's default target must be what the server listens on.
    let env = stage
        .iter()
        .filter_map(|l| l.strip_prefix("ENV "))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(env.contains("GOCHAT_LISTEN=0.0.0.0:9037"), "{env}");
    assert!(health.contains("127.0.0.1:9037"), "{health}");
    assert!(
        env.contains("GOCHAT_DATABASE=sqlite:///var/lib/gochat/"),
        "{env}"
    );
    assert!(
        stage
            .iter()
            .any(|l| l.starts_with("VOLUME") && l.contains("/var/lib/gochat"))
    );
}

#[test]
fn compose_has_both_ports_cert_mount_data_volume_restart_and_one_secret() {
    let doc = compose();
    let services = &doc["services"];
    let server = &services["server"];
    let mariadb = &services["mariadb"];
    assert!(
        !server.is_badvalue() && !mariadb.is_badvalue(),
        "server and mariadb"
    );

    for service in [server, mariadb] {
        assert_eq!(service["restart"].as_str(), Some("unless-stopped"));
    }
    let ports = strings(&server["ports"]);
    for port in ["9037:9037", "8037:8037"] {
        assert!(ports.iter().any(|p| p == port), "port {port} in {ports:?}");
    }
    let volumes = strings(&server["volumes"]);
    assert!(
        volumes
            .iter()
            .any(|v| v.starts_with("data:/var/lib/gochat")),
        "data volume: {volumes:?}"
    );
    let cert_mount = volumes
        .iter()
        .find(|v| v.ends_with(":/etc/gochat/tls:ro"))
        .expect("a read-only certificate mount");
    assert!(cert_mount.starts_with("./"), "{cert_mount}");
    assert!(
        !doc["volumes"]["data"].is_badvalue(),
        "volume data declared"
    );

    let env = &server["environment"];
    assert_eq!(env["GOCHAT_TLS_LISTEN"].as_str(), Some("0.0.0.0:8037"));
    for (key, file) in [
        ("GOCHAT_CERT", "fullchain.pem"),
        ("GOCHAT_KEY", "privkey.pem"),
    ] {
        assert_eq!(
            env[key].as_str().map(str::to_owned),
            Some(format!("/etc/gochat/tls/{file}"))
        );
    }
    let health = strings(&server["healthcheck"]["test"]);
    assert_eq!(
        health.get(1..3),
        Some(&["gochat-server".to_owned(), "probe".to_owned()][..])
    );

    // The password is written once, in docker/.env; the compose file only refers to it.
    let text = read("docker/compose.yml");
    assert!(!text.contains("change-me"), "a password in compose.yml");
    let db_password = mariadb["environment"]["MARIADB_PASSWORD"]
        .as_str()
        .expect("MARIADB_PASSWORD");
    assert!(
        db_password.starts_with("${GOCHAT_DB_PASSWORD"),
        "{db_password}"
    );
    let url = env["GOCHAT_DATABASE"].as_str().expect("GOCHAT_DATABASE");
    assert!(url.contains(":${GOCHAT_DB_PASSWORD"), "{url}");
    let example = read("docker/.env.example");
    assert!(
        example
            .lines()
            .any(|l| l.starts_with("GOCHAT_DB_PASSWORD="))
    );
    assert!(
        read(".gitignore")
            .lines()
            .any(|l| l.trim() == "docker/.env"),
        "docker/.env is ignored by git"
    );
}

fn unit_value(unit: &str, key: &str) -> Option<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .next_back()
        .map(str::to_owned)
}

#[test]
fn server_unit_conffile_and_system_entries_agree() {
    let unit = read("packaging/systemd/gochat-server.service");
    assert_eq!(
        unit_value(&unit, "ExecStart").as_deref(),
        Some("/usr/bin/gochat-server --config /etc/gochat/server.toml")
    );
    assert_eq!(unit_value(&unit, "DynamicUser"), None, "a static user");
    let user = unit_value(&unit, "User").expect("User=");
    assert_eq!(unit_value(&unit, "Group").as_deref(), Some(user.as_str()));
    let state = unit_value(&unit, "StateDirectory").expect("StateDirectory=");
    let runtime = unit_value(&unit, "RuntimeDirectory").expect("RuntimeDirectory=");

    let sysusers = read("packaging/systemd/gochat-server.sysusers");
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", user.as_str()])),
        "sysusers.d makes {user}"
    );
    let tmpfiles = read("packaging/systemd/gochat-server.tmpfile");
    for entry in [
        format!("d /etc/gochat 0750 root {user} -"),
        format!("z /etc/gochat/server.toml 0640 root {user} -"),
    ] {
        assert!(tmpfiles.lines().any(|l| l == entry), "tmpfiles.d: {entry}");
    }

    let conf: gochat_server::config::Config =
        toml::from_str(&read("packaging/gochat-server.toml")).expect("the conffile parses");
    conf.validate().expect("the conffile is valid");
    assert_eq!(
        conf.database.as_deref(),
        Some(format!("sqlite:///var/lib/{state}/gochat.db").as_str()),
        "SQLite in the StateDirectory"
    );
    assert_eq!(
        conf.control_socket,
        Some(PathBuf::from(format!("/run/{runtime}/control.sock"))),
        "control socket in the RuntimeDirectory"
    );
    let listen = conf.listen.expect("a plain listener");
    assert!(listen.ip().is_loopback(), "safe default: loopback only");
    assert!(conf.tls_listen.is_none() && conf.metrics_listen.is_none());

    // The same paths in the operator's documentation.
    let ops = read("docs/OPERATIONS.md");
    for needle in [
        "/etc/gochat/server.toml",
        "/var/lib/gochat/gochat.db",
        "/run/gochat/control.sock",
        "gochat-server probe",
    ] {
        assert!(ops.contains(needle), "docs/OPERATIONS.md mentions {needle}");
    }
}
