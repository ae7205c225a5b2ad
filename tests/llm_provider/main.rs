//! The LLM demo's client against its mock provider over real HTTP on loopback (started on
//! port 0 by each test): one model driven through an outage, a rate limit and its recovery,
//! checking what the client saw and what reached the server.
//!
//! The breakers run on a `ManualClock`, and each test sets the models' behaviour through the
//! server's handle, phase by phase: nothing waits on the wall clock for a state. (A request
//! left hanging by the server still takes the client's timeout, a real one.)

#[allow(dead_code)]
#[path = "../support/mock_provider.rs"]
mod mock_provider;

#[allow(dead_code)]
#[path = "../../examples/llm_provider/client.rs"]
mod client;

use std::time::Duration;

use breaker::{CircuitState, Clock, ManualClock, Verdict};
use client::{
    Model, OpenAiClient, Provider, ProviderBreaker, ProviderError, breaker_of, classify,
    complete_with_fallback,
};
use mock_provider::{Behaviour, MockProvider, RateLimitHint};

/// The client's timeout: how long a hanging request costs the test.
const TIMEOUT: Duration = Duration::from_millis(100);

/// A mock provider serving every model, and a guarded client on a manual clock.
async fn provider_and_client() -> (MockProvider, ProviderBreaker<OpenAiClient>, ManualClock) {
    let server = MockProvider::start(Model::ALL.map(Model::api_name))
        .await
        .unwrap();
    let clock = ManualClock::new();
    let client = OpenAiClient::new(server.base_url(), TIMEOUT).unwrap();
    (
        server,
        ProviderBreaker::with_clock(client, clock.clone()),
        clock,
    )
}

/// The status of an answer, the breaker's rejection as `"rejected"`, a timeout as
/// `"timeout"`, a success as `"200"`.
fn seen(answer: &Result<client::Completion, ProviderError>) -> String {
    match answer {
        Ok(_) => "200".to_owned(),
        Err(ProviderError::Status { status, .. }) => status.as_u16().to_string(),
        Err(ProviderError::Rejected(_)) => "rejected".to_owned(),
        Err(ProviderError::Transport(error)) if error.is_timeout() => "timeout".to_owned(),
        Err(error) => panic!("unexpected: {error}"),
    }
}

#[tokio::test]
async fn an_outage_opens_the_circuit_the_calls_fall_back_and_a_probe_closes_it() {
    let (server, client, clock) = provider_and_client().await;
    let gpt = breaker_of(&client, Model::Gpt4o);
    let cooldown = gpt.config().cooldown;

    // Up.
    let answer = client.complete(Model::Gpt4o, "hello").await.unwrap();
    assert_eq!(answer.model, "gpt-4o");
    assert_eq!(answer.text, "gpt-4o read 5 characters");

    // The outage: a 503, a 529, a request that never answers. Each a failure; the third
    // opens the circuit.
    server.set(
        "gpt-4o",
        Behaviour::Down {
            retry_after_secs: None,
        },
    );
    assert_eq!(seen(&client.complete(Model::Gpt4o, "a").await), "503");
    server.set("gpt-4o", Behaviour::Overloaded);
    assert_eq!(seen(&client.complete(Model::Gpt4o, "b").await), "529");
    server.set("gpt-4o", Behaviour::Hangs);
    assert_eq!(seen(&client.complete(Model::Gpt4o, "c").await), "timeout");
    assert_eq!(gpt.state(), CircuitState::Open);
    assert_eq!(gpt.metrics().failed, 3);
    assert_eq!(
        server.answered("gpt-4o"),
        [Some(200), Some(503), Some(529), None]
    );

    // While it is open, calls fall back to claude-sonnet without reaching gpt-4o.
    server.set("gpt-4o", Behaviour::Up);
    for n in 0..5 {
        let asked = complete_with_fallback(&client, Model::Gpt4o, "fallback").await;
        let [(answered_by, answer), (handed_on, rejection)] = &asked[..] else {
            panic!("call {n}: asked {} models", asked.len());
        };
        assert_eq!(
            (*answered_by, seen(answer)),
            (Model::ClaudeSonnet, "200".to_owned())
        );
        assert_eq!(*handed_on, Model::Gpt4o);
        let open = rejection
            .as_ref()
            .unwrap_err()
            .rejection()
            .expect("rejected");
        assert_eq!(open.state(), CircuitState::Open);
        assert!(!open.is_rate_limited(), "an outage, not a rate limit");
        assert_eq!(open.retry_after(), Some(cooldown));
    }
    assert_eq!(
        server.requests("gpt-4o"),
        4,
        "nothing reached gpt-4o while open"
    );
    assert_eq!(server.requests("claude-sonnet"), 5);
    assert_eq!(gpt.metrics().rejected, 5);

    // After the cooldown, the next call is the probe: it reaches the server and closes the
    // circuit.
    clock.advance(cooldown - Duration::from_millis(1));
    assert_eq!(
        seen(&client.complete(Model::Gpt4o, "early").await),
        "rejected"
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(seen(&client.complete(Model::Gpt4o, "probe").await), "200");
    assert_eq!(gpt.state(), CircuitState::Closed);
    let asked = complete_with_fallback(&client, Model::Gpt4o, "recovered").await;
    assert_eq!(asked.len(), 1);
    assert_eq!(
        (asked[0].0, seen(&asked[0].1)),
        (Model::Gpt4o, "200".to_owned())
    );
    assert_eq!(server.requests("gpt-4o"), 6);
}

#[tokio::test]
async fn a_request_the_provider_refuses_says_nothing_about_the_model() {
    // The server knows no `llama`: a 404 for every request, which the classifier ignores.
    let server = MockProvider::start(["gpt-4o"]).await.unwrap();
    let clock = ManualClock::new();
    let client = OpenAiClient::new(server.base_url(), TIMEOUT).unwrap();
    let client = ProviderBreaker::with_clock(client, clock);
    let llama = breaker_of(&client, Model::Llama);
    for _ in 0..2 * llama.config().threshold {
        assert_eq!(seen(&client.complete(Model::Llama, "hi").await), "404");
    }
    assert_eq!(llama.state(), CircuitState::Closed);
    let metrics = llama.metrics();
    assert_eq!(
        (metrics.failed, metrics.ignored),
        (0, 2 * u64::from(llama.config().threshold))
    );
    assert_eq!(
        server.requests("llama"),
        0,
        "a name it does not serve is not recorded"
    );
}

#[tokio::test]
async fn the_server_keeps_a_bounded_record_of_what_it_answered() {
    let server = MockProvider::start(["gpt-4o"]).await.unwrap();
    let client = OpenAiClient::new(server.base_url(), TIMEOUT).unwrap();
    server.set("gpt-4o", Behaviour::Overloaded);
    for _ in 0..mock_provider::RECORDED + 2 {
        assert_eq!(seen(&client.complete(Model::Gpt4o, "hi").await), "529");
    }
    assert_eq!(server.requests("gpt-4o"), mock_provider::RECORDED + 2);
    assert_eq!(
        server.answered("gpt-4o"),
        vec![Some(529); mock_provider::RECORDED]
    );
}

#[tokio::test]
async fn a_dead_address_is_a_failure() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = OpenAiClient::new(format!("http://127.0.0.1:{port}"), TIMEOUT).unwrap();
    let error = client.complete(Model::Gpt4o, "hi").await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Transport(e) if e.is_connect()),
        "{error:?}"
    );
    assert_eq!(classify(&error), Verdict::Failure);
}

/// Each way a 429 says when to come back, as the server sends it, and the delay read.
const RATE_LIMITS: [(RateLimitHint, Duration); 3] = [
    (RateLimitHint::RetryAfterSecs(2), Duration::from_secs(2)),
    (
        RateLimitHint::RetryAfterMs(1_500),
        Duration::from_millis(1_500),
    ),
    (
        RateLimitHint::ResetRequests("1m30s"),
        Duration::from_secs(90),
    ),
];

#[tokio::test]
async fn the_classifier_reads_the_delay_of_each_kind_of_rate_limit_and_of_an_outage() {
    let server = MockProvider::start(["gpt-4o"]).await.unwrap();
    let client = OpenAiClient::new(server.base_url(), TIMEOUT).unwrap();
    let classified = async |behaviour| {
        server.set("gpt-4o", behaviour);
        classify(&client.complete(Model::Gpt4o, "hi").await.unwrap_err())
    };
    for (hint, delay) in RATE_LIMITS {
        let verdict = classified(Behaviour::RateLimited(hint)).await;
        assert_eq!(verdict, Verdict::RateLimited(Some(delay)), "{hint:?}");
    }
    let down_for_a_second = Behaviour::Down {
        retry_after_secs: Some(1),
    };
    assert_eq!(
        classified(down_for_a_second).await,
        Verdict::DownFor(Duration::from_secs(1))
    );
    let down = Behaviour::Down {
        retry_after_secs: None,
    };
    assert_eq!(classified(down).await, Verdict::Failure);
    assert_eq!(classified(Behaviour::Overloaded).await, Verdict::Failure);
}

#[tokio::test]
async fn a_rate_limit_holds_the_model_back_for_the_delay_given_and_is_not_an_outage() {
    for (hint, delay) in RATE_LIMITS {
        let (server, client, clock) = provider_and_client().await;
        let gpt = breaker_of(&client, Model::Gpt4o);

        server.set("gpt-4o", Behaviour::RateLimited(hint));
        let asked = complete_with_fallback(&client, Model::Gpt4o, "a").await;
        let seen_all: Vec<_> = asked.iter().map(|(m, a)| (*m, seen(a))).collect();
        assert_eq!(
            seen_all,
            [
                (Model::ClaudeSonnet, "200".to_owned()),
                (Model::Gpt4o, "429".to_owned())
            ],
            "{hint:?}: the 429 hands the call on"
        );

        // Until the delay has passed, gpt-4o is not asked: the rejection says it is a rate
        // limit, with the exact time left, and the calls fall back.
        server.set("gpt-4o", Behaviour::Up);
        for step in [
            Duration::ZERO,
            delay / 2,
            delay / 2 - Duration::from_millis(1),
        ] {
            clock.advance(step);
            let asked = complete_with_fallback(&client, Model::Gpt4o, "b").await;
            assert_eq!(asked.len(), 2, "{hint:?}: fell back");
            assert_eq!(seen(&asked[0].1), "200");
            let open = asked[1]
                .1
                .as_ref()
                .unwrap_err()
                .rejection()
                .expect("rejected");
            assert!(open.is_rate_limited(), "{hint:?}: {open}");
            assert_eq!(open.retry_after(), Some(delay - clock.now()), "{hint:?}");
        }
        assert_eq!(server.requests("gpt-4o"), 1, "{hint:?}: none while limited");
        let metrics = gpt.metrics();
        assert_eq!((metrics.failed, metrics.rate_limited), (0, 1), "{hint:?}");
        assert_eq!(metrics.rejected_rate_limited, 3, "{hint:?}");
        assert_eq!(gpt.state(), CircuitState::Closed, "{hint:?}: not an outage");

        // The delay has passed: the model answers again.
        clock.advance(Duration::from_millis(1));
        assert_eq!(seen(&client.complete(Model::Gpt4o, "c").await), "200");
        assert_eq!(server.requests("gpt-4o"), 2, "{hint:?}");
    }
}

#[tokio::test]
async fn outage_rate_limit_and_recovery_of_one_model() {
    let (server, client, clock) = provider_and_client().await;
    let gpt = breaker_of(&client, Model::Gpt4o);
    let cooldown = gpt.config().cooldown;

    // An outage opens the circuit; the probe after the cooldown meets a rate limit, which
    // frees its slot and decides nothing about the outage.
    server.set(
        "gpt-4o",
        Behaviour::Down {
            retry_after_secs: None,
        },
    );
    for _ in 0..gpt.config().threshold {
        assert_eq!(seen(&client.complete(Model::Gpt4o, "down").await), "503");
    }
    assert_eq!(gpt.state(), CircuitState::Open);
    clock.advance(cooldown);
    server.set(
        "gpt-4o",
        Behaviour::RateLimited(RateLimitHint::RetryAfterSecs(1)),
    );
    assert_eq!(seen(&client.complete(Model::Gpt4o, "probe").await), "429");
    assert_ne!(
        gpt.state(),
        CircuitState::Closed,
        "a 429 does not close the circuit"
    );
    assert_eq!(gpt.metrics().failed, u64::from(gpt.config().threshold));

    // Until the rate limit's deadline, the calls fall back without reaching gpt-4o.
    server.set("gpt-4o", Behaviour::Up);
    let asked = complete_with_fallback(&client, Model::Gpt4o, "limited").await;
    assert_eq!(asked[0].0, Model::ClaudeSonnet);
    let open = asked[1]
        .1
        .as_ref()
        .unwrap_err()
        .rejection()
        .expect("rejected");
    assert!(open.is_rate_limited(), "{open}");
    assert_eq!(open.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(server.requests("gpt-4o"), 4);

    // Recovery: past the deadline, a probe succeeds and the circuit closes.
    clock.advance(Duration::from_secs(1));
    assert_eq!(seen(&client.complete(Model::Gpt4o, "probe").await), "200");
    assert_eq!(gpt.state(), CircuitState::Closed);
    assert_eq!(server.requests("gpt-4o"), 5);
}
