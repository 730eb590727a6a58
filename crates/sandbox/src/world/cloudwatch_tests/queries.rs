//! Custom metrics, GetMetricData's ordering and pages, and the README's CloudWatch example.

use super::*;

#[test]
fn custom_metrics_are_put_and_read() {
    let mut w = world();
    let dims = vec![("Gate".to_owned(), "wave-1".to_owned())];
    let datum = |value: Option<f64>| Datum {
        name: "Errors".into(),
        dimensions: dims.clone(),
        timestamp: Some(T0 + 10 * S),
        value,
        ..Datum::default()
    };
    w.put_metric_data(
        A,
        R,
        "Rollout",
        &[datum(Some(3.0)), datum(Some(5.0))],
        T0 + MIN,
    )
    .unwrap();
    let set = Datum {
        statistic_values: Some(StatSet {
            count: 4.0,
            sum: 8.0,
            min: 1.0,
            max: 4.0,
        }),
        timestamp: Some(T0 + MIN + S),
        ..datum(None)
    };
    let values = Datum {
        values: vec![10.0, 20.0],
        counts: vec![1.0, 3.0],
        timestamp: Some(T0 + 2 * MIN),
        ..datum(None)
    };
    w.put_metric_data(A, R, "Rollout", &[set, values], T0 + 2 * MIN)
        .unwrap();
    let metric = MetricId::new("Rollout", "Errors", dims.clone());
    let now = T0 + 5 * MIN;
    let read = |w: &mut World, stat| series(w, query("q", metric.clone(), 60, stat), T0, now, now);
    assert_eq!(
        read(&mut w, "Sum"),
        vec![(T0, 8.0), (T0 + MIN, 8.0), (T0 + 2 * MIN, 70.0)]
    );
    assert_eq!(
        read(&mut w, "SampleCount"),
        vec![(T0, 2.0), (T0 + MIN, 4.0), (T0 + 2 * MIN, 4.0)]
    );
    assert_eq!(
        read(&mut w, "Maximum"),
        vec![(T0, 5.0), (T0 + MIN, 4.0), (T0 + 2 * MIN, 20.0)]
    );
    assert_eq!(
        read(&mut w, "Average"),
        vec![(T0, 4.0), (T0 + MIN, 2.0), (T0 + 2 * MIN, 17.5)]
    );
    // Dimensions match whatever their order; another account sees nothing.
    assert!(
        w.get_metric_data(
            "111122223333",
            R,
            &request(vec![query("q", metric.clone(), 60, "Sum")], T0, now),
            now
        )
        .unwrap()
        .results[0]
            .timestamps
            .is_empty()
    );
    // Refusals.
    let refused = |w: &mut World, ns: &str, d: Datum| {
        w.put_metric_data(A, R, ns, &[d], now)
            .unwrap_err()
            .code
            .to_string()
    };
    assert_eq!(
        refused(&mut w, "AWS/Firehose", datum(Some(1.0))),
        codes::INVALID_PARAMETER_VALUE
    );
    assert_eq!(
        refused(
            &mut w,
            "Rollout",
            Datum {
                statistic_values: Some(StatSet::one(1.0)),
                ..datum(Some(1.0))
            }
        ),
        codes::INVALID_PARAMETER_COMBINATION
    );
    assert_eq!(
        refused(&mut w, "Rollout", datum(None)),
        codes::MISSING_PARAMETER
    );
    assert_eq!(
        refused(&mut w, "Rollout", datum(Some(f64::NAN))),
        codes::INVALID_PARAMETER_VALUE
    );
    let stale = Datum {
        timestamp: Some(now - 15 * 24 * 60 * MIN),
        ..datum(Some(1.0))
    };
    assert_eq!(
        refused(&mut w, "Rollout", stale),
        codes::INVALID_PARAMETER_VALUE
    );
    let uneven = Datum {
        values: vec![1.0, 2.0],
        counts: vec![1.0],
        ..datum(None)
    };
    assert_eq!(
        refused(&mut w, "Rollout", uneven),
        codes::INVALID_PARAMETER_VALUE
    );
    // High resolution keeps the second.
    let high = Datum {
        storage_resolution: Some(1),
        timestamp: Some(now - 30 * S),
        ..datum(Some(1.0))
    };
    w.put_metric_data(A, R, "Fine", &[high], now).unwrap();
    let fine = MetricId::new("Fine", "Errors", dims);
    assert_eq!(
        series(&mut w, query("q", fine, 1, "Sum"), now - MIN, now, now),
        vec![(now - 30 * S, 1.0)]
    );
}

#[test]
fn get_metric_data_orders_and_pages() {
    let mut w = world_with(json!({"streams": [
        {"name": "a", "producers": [{"user": "u", "rate": 1}]},
        {"name": "b", "producers": [{"user": "u", "rate": 2}]}
    ]}));
    let now = T0 + 3 * MIN;
    let queries = || {
        vec![
            query("a", stream_metric("IncomingRecords", "a"), 60, "Sum"),
            query("empty", stream_metric("IncomingRecords", "none"), 60, "Sum"),
            query("b", stream_metric("IncomingRecords", "b"), 60, "Sum"),
        ]
    };
    // Newest first by default, labelled with the metric's name.
    let mut r = request(queries(), T0, now);
    r.ascending = false;
    let page = w.get_metric_data(A, R, &r, now).unwrap();
    assert_eq!(page.next_token, None);
    assert_eq!(page.results[0].timestamps, vec![T0 + 2 * MIN, T0 + MIN, T0]);
    assert_eq!(page.results[0].label, "IncomingRecords");
    assert_eq!(page.results[2].values, vec![120.0; 3]);
    // Two datapoints a page: a's 3 and b's 3 take three pages.
    r.max_datapoints = Some(2);
    let mut pages = Vec::new();
    loop {
        let page = w.get_metric_data(A, R, &r, now).unwrap();
        let done = page.next_token.is_none();
        r.next_token = page.next_token.clone();
        pages.push(page);
        if done {
            break;
        }
    }
    assert_eq!(pages.len(), 3);
    let shape: Vec<Vec<(usize, &str)>> = pages
        .iter()
        .map(|p| {
            p.results
                .iter()
                .map(|r| (r.timestamps.len(), r.status))
                .collect()
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            vec![(2, "PartialData"), (0, "Complete"), (0, "PartialData")],
            vec![(1, "Complete"), (0, "Complete"), (1, "PartialData")],
            vec![(0, "Complete"), (0, "Complete"), (2, "Complete")],
        ]
    );
    let b: Vec<Millis> = pages
        .iter()
        .flat_map(|p| p.results[2].timestamps.clone())
        .collect();
    assert_eq!(b, vec![T0 + 2 * MIN, T0 + MIN, T0]);
    // A token of another request, or none of ours: InvalidNextToken.
    let mut other = request(queries(), T0 + MIN, now);
    other.next_token = pages[0].next_token.clone();
    let err = w.get_metric_data(A, R, &other, now).unwrap_err();
    assert_eq!(err.code, codes::INVALID_NEXT_TOKEN);
    other.next_token = Some("bm9wZQ==".into());
    assert_eq!(
        w.get_metric_data(A, R, &other, now).unwrap_err().code,
        codes::INVALID_NEXT_TOKEN
    );
    // Refusals: a bad period, statistic, id, expression, time range.
    let refused = |w: &mut World, q: DataQuery, start: Millis| {
        w.get_metric_data(A, R, &request(vec![q], start, now), now)
            .unwrap_err()
            .code
            .to_string()
    };
    let m = || stream_metric("IncomingRecords", "a");
    assert_eq!(
        refused(&mut w, query("q", m(), 7, "Sum"), T0),
        codes::INVALID_PARAMETER_VALUE
    );
    assert_eq!(
        refused(&mut w, query("q", m(), 60, "p99"), T0),
        codes::INVALID_PARAMETER_VALUE
    );
    assert_eq!(
        refused(&mut w, query("Q", m(), 60, "Sum"), T0),
        codes::INVALID_PARAMETER_VALUE
    );
    assert_eq!(
        refused(&mut w, query("q", m(), 60, "Sum"), now),
        codes::INVALID_PARAMETER_VALUE
    );
    let expression = DataQuery {
        expression: Some("SUM(METRICS())".into()),
        stat: None,
        ..query("e", m(), 60, "Sum")
    };
    assert_eq!(
        refused(&mut w, expression, T0),
        codes::INVALID_PARAMETER_VALUE
    );
    let neither = DataQuery {
        stat: None,
        ..query("n", m(), 60, "Sum")
    };
    assert_eq!(refused(&mut w, neither, T0), codes::MISSING_PARAMETER);
}

/// The CloudWatch example world of `crates/sandbox/README.md`, as written there.
fn readme_example() -> Seed {
    let readme = include_str!("../../../README.md");
    let marker = readme
        .find("<!-- cloudwatch-example")
        .expect("the README marks its CloudWatch example");
    let block = &readme[marker..];
    let start = block.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + block[start..].find("```").expect("the block ends");
    serde_json::from_str(&block[start..end]).expect("the README's example is a world file")
}

#[test]
fn the_readmes_cloudwatch_example_does_what_it_says() {
    let seed = readme_example();
    let mut w = World::new(&SandboxConfig::default(), &seed, T0).unwrap();
    let now = T0 + MIN;
    let ten = |w: &mut World, metric: &str, stream: &str| {
        series(
            w,
            query("q", stream_metric(metric, stream), 10, "Sum"),
            T0,
            now,
            now,
        )
    };
    let every = |value: f64| (0..6).map(|k| (T0 + k * 10 * S, value)).collect::<Vec<_>>();
    assert_eq!(ten(&mut w, "IncomingRecords", "orders"), every(70.0));
    assert_eq!(
        ten(&mut w, "IncomingBytes", "orders"),
        every(50.0 * 200.0 + 20.0 * 1_024.0)
    );
    assert_eq!(ten(&mut w, "KMSKeyAccessDenied", "clicks"), every(10.0));
    assert!(ten(&mut w, "IncomingRecords", "clicks").is_empty());
    assert_eq!(w.metric_period(), 10 * S);
}
