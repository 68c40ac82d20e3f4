//! Event parsing against the shapes of aws_lambda_events 1.2.1's fixtures
//! (`src/fixtures/example-sqs-event.json`, `example-eventbridge-schedule.json`;
//! m365-facts B§5).

use super::*;

const SQS_EVENT: &str = r#"{"Records":[{"messageId":"MessageID_1","receiptHandle":"MessageReceiptHandle",
 "body":"Message Body","md5OfBody":"fce0ea8dd236ccb3ed9b37dae260836f",
 "md5OfMessageAttributes":"582c92c5c5b6ac403040a4f3ab3115c9",
 "eventSourceARN":"arn:aws:sqs:us-west-2:123456789012:SQSQueue","eventSource":"aws:sqs",
 "awsRegion":"us-west-2","attributes":{"ApproximateReceiveCount":"2","SentTimestamp":"1520621625029",
 "SenderId":"AROAIWPX5BD2BHG722MW4:sender","ApproximateFirstReceiveTimestamp":"1520621634884"},
 "messageAttributes":{"Attribute1":{"stringValue":"AttributeValue1","stringListValues":[],
 "binaryListValues":[],"dataType":"String"}}}]}"#;

const SCHEDULE_EVENT: &str = r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
 "detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
 "time":"2015-10-08T16:53:06Z","region":"us-east-1",
 "resources":["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],"detail":{}}"#;

#[test]
fn an_sqs_event_gives_its_records_with_receive_counts() {
    let Event::Sqs(records) = parse_event(SQS_EVENT.as_bytes()).unwrap() else {
        panic!("not read as SQS");
    };
    assert_eq!(
        records,
        vec![SqsRecord {
            message_id: "MessageID_1".into(),
            body: "Message Body".into(),
            receive_count: 2,
        }]
    );
}

#[test]
fn a_receive_count_may_be_a_number_or_missing() {
    let ev = r#"{"Records":[{"messageId":"a","body":"x","eventSource":"aws:sqs","attributes":{"ApproximateReceiveCount":7}},
                            {"messageId":"b","body":"y","eventSource":"aws:sqs"}]}"#;
    let Event::Sqs(records) = parse_event(ev.as_bytes()).unwrap() else {
        panic!("not read as SQS");
    };
    assert_eq!(records[0].receive_count, 7);
    assert_eq!(records[1].receive_count, 1);
}

#[test]
fn an_eventbridge_schedule_is_a_scheduled_event() {
    let ev = parse_event(SCHEDULE_EVENT.as_bytes()).unwrap();
    assert_eq!(
        ev,
        Event::Scheduled(ScheduledEvent {
            id: Some("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa".into()),
            time: Some("2015-10-08T16:53:06Z".into()),
            resources: vec!["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule".into()],
        })
    );
}

#[test]
fn other_eventbridge_events_are_refused_by_name() {
    let ev = r#"{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}"#;
    let e = parse_event(ev.as_bytes()).unwrap_err();
    assert!(!e.is_retryable());
    let text = e.to_string();
    assert!(text.contains("aws.ec2"), "{text}");
    assert!(
        text.contains("Scheduled Event"),
        "names what it expects: {text}"
    );
}

#[test]
fn s3_records_are_not_sqs_records() {
    let ev = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}"#;
    let e = parse_event(ev.as_bytes()).unwrap_err();
    assert!(matches!(e, EventError::Unknown(_)), "{e:?}");
    assert!(e.to_string().contains("aws:s3"), "{e}");
}

#[test]
fn a_record_without_message_id_fails_the_whole_batch() {
    let ev = r#"{"Records":[{"messageId":"a","body":"x","eventSource":"aws:sqs"},{"body":"y","eventSource":"aws:sqs"}]}"#;
    let e = parse_event(ev.as_bytes()).unwrap_err();
    assert_eq!(
        e,
        EventError::BadRecord {
            index: 1,
            why: "no \"messageId\"".into()
        }
    );
    assert!(e.is_retryable());
}

#[test]
fn not_json_and_not_objects_are_refused() {
    assert!(matches!(parse_event(b"nope"), Err(EventError::NotJson(_))));
    assert!(parse_event(b"[1,2]")
        .unwrap_err()
        .to_string()
        .contains("not a JSON object"));
}

#[test]
fn the_batch_response_has_the_documented_shape() {
    let r = BatchResponse::failing(["m1".to_string(), "m2".to_string()]);
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]})
    );
    assert_eq!(
        serde_json::to_value(BatchResponse::default()).unwrap(),
        json!({"batchItemFailures":[]})
    );
}
