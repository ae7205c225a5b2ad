use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(key = modle)]
fn complete(model: &str, prompt: &str) -> Result<String, ProviderError> {
    Ok(format!("{model}: {prompt}"))
}

#[circuit_breaker]
trait Provider {
    #[breaker(key = tenant)]
    fn quota(&self, tenant_id: u64) -> Result<u32, ProviderError>;
}

fn main() {
    // No follow-on errors for the callers.
    let _ = complete("gpt-4o", "hi");
    let _ = complete_breakers();
    let _ = ProviderBreaker::new(()).quota_breakers();
}

impl Provider for () {
    fn quota(&self, tenant_id: u64) -> Result<u32, ProviderError> {
        Ok(tenant_id as u32)
    }
}
