//! Launcher: parse the command line and hand over to the library.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = autosec::cli::Cli::parse();
    match autosec::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", autosec::sanitize::visible(&format!("{e:#}")));
            std::process::ExitCode::from(1)
        }
    }
}
