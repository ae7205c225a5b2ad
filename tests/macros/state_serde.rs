//! A machine's state through serde (feature `serde`): written as its name, read back by
//! name, so that a machine can be persisted and resumed; an unknown name is an error that
//! names the machine and its states.

use breaker::machine::Machine;
use breaker::state_machine;

state_machine! {
    /// An order, persisted between its steps.
    pub Order {
        initial: Placed,
        final: [Shipped, Cancelled],
        Placed + Pay => Paid,
        Paid + Ship => Shipped,
        Placed + Cancel => Cancelled,
    }
}

#[test]
fn a_state_is_written_as_its_name_and_read_back() {
    let mut order = Order::machine(());
    order.fire(OrderEvent::Pay).unwrap();
    let saved = serde_json::to_string(&order.state()).unwrap();
    assert_eq!(saved, r#""Paid""#);

    // Another process resumes it.
    let state: OrderState = serde_json::from_str(&saved).unwrap();
    let mut resumed: Machine<Order, ()> = Machine::with_state(state, ());
    assert_eq!(resumed.fire(OrderEvent::Ship), Ok(OrderState::Shipped));
    assert_eq!(
        toml::from_str::<toml::Value>(&format!("state = {saved}")).unwrap()["state"].as_str(),
        Some("Paid")
    );
}

#[test]
fn an_unknown_state_is_a_clear_error() {
    let error = serde_json::from_str::<OrderState>(r#""Lost""#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown state `Lost` of the machine `Order`: expected one of `Placed`, `Paid`, \
         `Shipped`, `Cancelled`"
    );
    assert!(serde_json::from_str::<OrderState>("3").is_err());
}

mod with_data {
    //! A machine whose states carry data: a state is written with its data, as serde writes
    //! an enum (`"Name"` without data, `{"Name": data}` with it), and a machine resumed from
    //! it goes on from that state and data.

    use breaker::machine::Machine;
    use breaker::state_machine;

    state_machine! {
        pub Upload {
            initial: Idle,
            final: Done,
            states: [
                Idle,
                #[initial(Sending)]
                Busy [
                    Sending { offset: u64, chunk: String },
                    Retrying(u32),
                ],
                Done,
            ],
            Idle + Start / begin => Busy,
            Sending + Fail / retry => Retrying,
            Retrying + Resume / resume => Sending,
            Busy + Finish => Done,
        }
    }

    struct Uploader;

    impl UploadContext for Uploader {
        fn begin(&mut self, _state: &UploadState, _event: &UploadEvent) -> upload::state::Sending {
            upload::state::Sending {
                offset: 0,
                chunk: "a".into(),
            }
        }
        fn retry(&mut self, state: &UploadState, _event: &UploadEvent) -> upload::state::Retrying {
            let UploadState::Sending { offset, .. } = state else {
                unreachable!("retry leaves Sending")
            };
            upload::state::Retrying(u32::try_from(*offset).unwrap_or(u32::MAX) + 1)
        }
        fn resume(&mut self, state: &UploadState, _event: &UploadEvent) -> upload::state::Sending {
            let UploadState::Retrying(attempt) = state else {
                unreachable!("resume leaves Retrying")
            };
            upload::state::Sending {
                offset: u64::from(*attempt) * 10,
                chunk: "b".into(),
            }
        }
    }

    #[test]
    fn a_state_with_data_round_trips_and_the_machine_resumes_from_it() {
        let mut upload = Upload::machine(Uploader);
        assert_eq!(
            serde_json::to_string(upload.current()).unwrap(),
            r#""Idle""#
        );
        upload.fire(UploadEvent::Start).unwrap();
        upload.fire(UploadEvent::Fail).unwrap();
        let saved = serde_json::to_string(upload.current()).unwrap();
        assert_eq!(saved, r#"{"Retrying":1}"#);

        let state: UploadState = serde_json::from_str(&saved).unwrap();
        let mut resumed = Machine::<Upload, _>::with_state(state, Uploader);
        assert_eq!(
            resumed.fire(UploadEvent::Resume),
            Ok(UploadStateKind::Sending)
        );
        let saved = serde_json::to_string(resumed.current()).unwrap();
        assert_eq!(saved, r#"{"Sending":{"offset":10,"chunk":"b"}}"#);
        let back: UploadState = serde_json::from_str(&saved).unwrap();
        assert!(matches!(back, UploadState::Sending { offset: 10, ref chunk } if chunk == "b"));
    }

    #[test]
    fn an_unknown_state_or_bad_data_is_a_clear_error() {
        let error = serde_json::from_str::<UploadState>(r#""Lost""#).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "unknown variant `Lost`, expected one of `Idle`, `Sending`, `Retrying`, `Done`"
            ),
            "{error}"
        );
        // A superstate is not a state a machine is in.
        assert!(serde_json::from_str::<UploadState>(r#""Busy""#).is_err());
        let error = serde_json::from_str::<UploadState>(r#"{"Sending":{"offset":1}}"#).unwrap_err();
        assert!(
            error.to_string().contains("missing field `chunk`"),
            "{error}"
        );
    }
}
