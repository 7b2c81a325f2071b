"""Feature columns inside an Estimator's model_fn, fed string and numeric numpy features by
numpy_input_fn: a wide (vocabulary, crossed bucketized) + deep (hashed embedding, numeric,
indicator) model trains, evaluates, predicts and checkpoints the columns' variables."""

import numpy as np

import estcore as ec
from estcore import feature_column as fc
from estcore.estimator import Estimator, EstimatorSpec, ModeKeys, RunConfig
from estcore.estimator.inputs import numpy_input_fn


def _data(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue", ""], n)
    city = np.array([f"c{i}" for i in rng.integers(0, 300, n)])
    age = rng.uniform(10, 80, n).astype(np.float32)
    y = ((color == "red") ^ (age > 40)).astype(np.int32)
    code = rng.integers(0, 5, n)
    return {"color": color, "city": city, "age": age, "code": code}, y


def _model_fn(features, labels, mode):
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"])
    age = fc.numeric_column("age")
    wide = [color, fc.crossed_column([fc.bucketized_column(age, [20.0, 40.0, 60.0]), "color"],
                                     100),
            fc.categorical_column_with_vocabulary_list("code", [3, 1, 4], num_oov_buckets=1)]
    deep = [fc.embedding_column(fc.categorical_column_with_hash_bucket("city", 1000), 4),
            fc.numeric_column("age", normalizer_fn=lambda x: (x - 45.0) / 20.0),
            fc.indicator_column(color)]
    h = ec.layers.dense(fc.input_layer(features, deep), 16, activation=ec.nn.relu)
    logits = ec.layers.dense(h, 1) + fc.linear_model(features, wide)
    pred = ec.cast(logits[:, 0] > 0, ec.int32)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"class": pred})
    loss = ec.losses.sigmoid_cross_entropy(ec.expand_dims(labels, 1), logits)
    if mode == ModeKeys.EVAL:
        return EstimatorSpec(mode, loss=loss,
                             eval_metric_ops={"acc": ec.metrics.accuracy(labels, pred)})
    op = ec.train.AdagradOptimizer(0.1).minimize(loss, global_step=ec.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=op)


def test_wide_and_deep_columns_in_an_estimator(tmp_path):
    x, y = _data()
    est = Estimator(_model_fn, model_dir=str(tmp_path), config=RunConfig(tf_random_seed=1))
    est.train(numpy_input_fn(x, y, batch_size=50, num_epochs=8, shuffle=True))
    metrics = est.evaluate(numpy_input_fn(x, y, num_epochs=1, shuffle=False))
    assert metrics["acc"] > 0.9, metrics
    names = est.get_variable_names()
    for want in ("input_layer/city_embedding/embedding_weights",
                 "linear_model/age_bucketized_X_color/weights", "linear_model/color/weights",
                 "linear_model/bias_weights"):
        assert want in names
    assert est.get_variable_value("input_layer/city_embedding/embedding_weights").shape == \
        (1000, 4)
    preds = list(est.predict(numpy_input_fn({k: v[:5] for k, v in x.items()}, shuffle=False)))
    assert len(preds) == 5 and {int(p["class"]) for p in preds} <= {0, 1}


def test_exported_feature_column_model_serves_the_same_predictions(tmp_path):
    import estcore.saved_model as sm
    from estcore.estimator.export import build_raw_serving_input_receiver_fn

    x, y = _data(400, seed=2)
    est = Estimator(_model_fn, model_dir=str(tmp_path / "m"), config=RunConfig(tf_random_seed=1))
    est.train(numpy_input_fn(x, y, batch_size=50, num_epochs=1, shuffle=True))
    feats = {"color": ec.placeholder(ec.string, [None], name="color"),
             "city": ec.placeholder(ec.string, [None], name="city"),
             "age": ec.placeholder(ec.float32, [None], name="age"),
             "code": ec.placeholder(ec.int64, [None], name="code")}
    path = est.export_saved_model(str(tmp_path / "export"),
                                  build_raw_serving_input_receiver_fn(feats))
    predictor = sm.load(path)
    some = {k: v[:20] for k, v in x.items()}
    served = predictor(some)
    want = [p["class"] for p in est.predict(numpy_input_fn(some, shuffle=False))]
    np.testing.assert_array_equal(np.asarray(served["class"]).ravel(), want)


def test_parsing_receiver_serves_examples_with_varlen_features(tmp_path):
    """An export through build_parsing_serving_input_receiver_fn with the columns' parse
    spec (VarLenFeature for the categorical keys: SparseTensor features) serves
    serialized Examples with the Estimator's predictions."""
    import estcore.saved_model as sm
    from estcore.estimator.export import build_parsing_serving_input_receiver_fn
    from estcore.io import encode_example

    x, y = _data(300, seed=3)
    est = Estimator(_model_fn, model_dir=str(tmp_path / "m"), config=RunConfig(tf_random_seed=1))
    est.train(numpy_input_fn(x, y, batch_size=50, num_epochs=1, shuffle=True))
    spec = fc.make_parse_example_spec([
        fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"]),
        fc.categorical_column_with_hash_bucket("city", 1000),
        fc.categorical_column_with_vocabulary_list("code", [3, 1, 4]),
        fc.numeric_column("age")])
    path = est.export_saved_model(str(tmp_path / "export"),
                                  build_parsing_serving_input_receiver_fn(spec))
    n = 12
    examples = []
    for i in range(n):
        feats = {"city": [x["city"][i].encode()], "age": [float(x["age"][i])],
                 "code": [int(x["code"][i])]}
        if x["color"][i]:   # a missing color is an absent feature (an empty sparse row)
            feats["color"] = [x["color"][i].encode()]
        examples.append(encode_example(feats))
    served = sm.load(path)({"examples": np.array(examples, object)})
    want = [p["class"] for p in est.predict(numpy_input_fn({k: v[:n] for k, v in x.items()},
                                                           shuffle=False))]
    np.testing.assert_array_equal(np.asarray(served["class"]).ravel(), want)


def test_varlen_features_parsed_inside_model_fn_train_and_evaluate(tmp_path):
    """Serialized Examples as the input, VarLenFeature parsed in the model_fn (a
    data-dependent width every batch): training reaches a small loss."""
    from estcore.io import encode_example, parse_example

    words = [b"a", b"b", b"c"]
    ex = np.array([encode_example({"w": words[: (i % 3) + 1]}) for i in range(64)], dtype="S")
    y = (np.arange(64) % 3 == 0).astype(np.float32).reshape(-1, 1)
    col = fc.embedding_column(fc.categorical_column_with_hash_bucket("w", 10), 3)

    def model_fn(features, labels, mode):
        parsed = parse_example(features["ex"], fc.make_parse_example_spec([col]))
        logits = ec.layers.dense(fc.input_layer(parsed, [col]), 1)
        loss = ec.losses.sigmoid_cross_entropy(labels, logits)
        op = ec.train.AdagradOptimizer(0.3).minimize(loss,
                                                     global_step=ec.train.get_global_step())
        return EstimatorSpec(mode, loss=loss, train_op=op)

    est = Estimator(model_fn, model_dir=str(tmp_path), config=RunConfig(tf_random_seed=1))
    est.train(numpy_input_fn({"ex": ex}, y, batch_size=16, num_epochs=20, shuffle=True))
    metrics = est.evaluate(numpy_input_fn({"ex": ex}, y, batch_size=16, num_epochs=1,
                                          shuffle=False))
    assert metrics["global_step"] == 80 and metrics["loss"] < 0.1
