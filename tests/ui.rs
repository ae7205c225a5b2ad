//! Compile-time checks of the macros: every diagnostic has a case in `tests/ui/*/fail` with
//! its reviewed `.stderr`, and every feature a case in `tests/ui/*/pass` that compiles and
//! runs; `tests/ui/api` checks the public API's promises (types that may grow fields).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/state_machine/pass/*.rs");
    cases.compile_fail("tests/ui/state_machine/fail/*.rs");
    cases.pass("tests/ui/circuit_breaker/pass/*.rs");
    cases.compile_fail("tests/ui/circuit_breaker/fail/*.rs");
    cases.pass("tests/ui/circuit_breakers/pass/*.rs");
    cases.compile_fail("tests/ui/circuit_breakers/fail/*.rs");
    cases.compile_fail("tests/ui/api/fail/*.rs");
}
