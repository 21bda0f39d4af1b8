//! Compiles the daemon's IPC API (`proto/gochat/daemon/v1/daemon.proto`) when the `ipc`
//! feature is on. protox parses the .proto in Rust, so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=proto/gochat/daemon/v1/daemon.proto");
    #[cfg(feature = "ipc")]
    {
        let fds = protox::compile(["gochat/daemon/v1/daemon.proto"], ["proto"])?;
        tonic_prost_build::configure()
            .build_client(true)
            .build_server(true)
            // Keeps `Event` small (clippy's large_enum_variant in every frontend).
            .boxed(".gochat.daemon.v1.CertificateChanged.presented")
            .compile_fds(fds)?;
    }
    Ok(())
}
