//! The `sandserve` command line, built here so that the tests can run it as a
//! process (the same code as the `sandserve` binary: see `sandserve::cli`).

fn main() -> std::process::ExitCode {
    sandserve::cli::main()
}
