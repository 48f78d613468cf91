//! Launcher: parse the command line and hand over to the library.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = autosec::cli::Cli::parse();
    match autosec::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        // A closed pipe (`autosec alerts | head`) is the reader's choice, not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", autosec::sanitize::visible(&format!("{e:#}")));
            std::process::ExitCode::from(1)
        }
    }
}
