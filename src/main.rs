use std::process::ExitCode;

fn main() -> ExitCode {
    azdeck::cli::main()
}
