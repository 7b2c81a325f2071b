"""Generated census-like data for the wide-and-deep tests and benchmark.

Columns shaped like the UCI Adult data the TF wide-and-deep tutorial used: numbers (age,
education_num, hours_per_week, capital_gain with a heavy tail), categories (workclass,
education, occupation, relationship, native_country with a long tail) and a binary label
drawn from a logistic model with interactions (education x occupation, an age bump,
gain thresholds), so that a linear model alone cannot reach the best accuracy. numpy only:
the benchmark's TF run (in another venv) builds the same arrays from the same seed.
"""

from __future__ import annotations

import numpy as np

WORKCLASS = ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov",
             "State-gov", "Without-pay", "Never-worked"]
EDUCATION = ["Bachelors", "Some-college", "11th", "HS-grad", "Prof-school", "Assoc-acdm",
             "Assoc-voc", "9th", "7th-8th", "12th", "Masters", "1st-4th", "10th", "Doctorate",
             "5th-6th", "Preschool"]
OCCUPATION = ["Tech-support", "Craft-repair", "Other-service", "Sales", "Exec-managerial",
              "Prof-specialty", "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical",
              "Farming-fishing", "Transport-moving", "Priv-house-serv", "Protective-serv",
              "Armed-Forces"]
RELATIONSHIP = ["Wife", "Own-child", "Husband", "Not-in-family", "Other-relative",
                "Unmarried"]
NUMERIC = ["age", "education_num", "hours_per_week", "capital_gain"]
CATEGORICAL = ["workclass", "education", "occupation", "relationship", "native_country"]


def generate(n: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """``n`` rows: a dict of column -> array (float32 numbers, str categories), labels int64.

    The label model's effects are fixed; ``seed`` draws the rows (train and test sets are
    two seeds of the same population)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(17, 80, n).astype(np.float32)
    edu_idx = rng.integers(0, len(EDUCATION), n)
    education_num = (edu_idx % 16 + 1).astype(np.float32)
    occ_idx = rng.integers(0, len(OCCUPATION), n)
    work_idx = rng.choice(len(WORKCLASS), n, p=[.6, .1, .05, .05, .08, .06, .03, .03])
    rel_idx = rng.integers(0, len(RELATIONSHIP), n)
    country = np.array([f"country-{k}" for k in np.minimum(rng.geometric(0.3, n), 60)])
    hours = np.clip(rng.normal(40, 12, n), 1, 99).astype(np.float32)
    gain = np.where(rng.random(n) < 0.1, rng.lognormal(8, 1.2, n), 0.0).astype(np.float32)
    world = np.random.default_rng(1234)   # the same effects for every sample drawn
    edu_effect = world.normal(0, 1.0, len(EDUCATION))
    occ_effect = world.normal(0, 1.0, len(OCCUPATION))
    pair = world.normal(0, 1.2, (len(EDUCATION), len(OCCUPATION)))
    rel_effect = np.array([0.8, -1.5, 0.9, -0.3, -0.8, -0.6])
    logit = (-1.0 + edu_effect[edu_idx] + occ_effect[occ_idx] + pair[edu_idx, occ_idx]
             + rel_effect[rel_idx] - ((age - 48) / 14) ** 2 + 0.03 * (hours - 40)
             + np.where(gain > 5000, 2.0, 0.0) + 0.1 * (country == "country-1"))
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    features = {
        "age": age, "education_num": education_num, "hours_per_week": hours,
        "capital_gain": gain,
        "workclass": np.array(WORKCLASS)[work_idx], "education": np.array(EDUCATION)[edu_idx],
        "occupation": np.array(OCCUPATION)[occ_idx],
        "relationship": np.array(RELATIONSHIP)[rel_idx], "native_country": country,
    }
    return features, label


def wide_and_deep_columns(fc) -> tuple[list, list]:
    """The tutorial's wide and deep columns over this data, from a ``tf.feature_column``
    namespace (TF's or estcore's)."""
    age = fc.numeric_column("age")
    age_buckets = fc.bucketized_column(age, [18, 25, 30, 35, 40, 45, 50, 55, 60, 65])
    education = fc.categorical_column_with_vocabulary_list("education", EDUCATION)
    occupation = fc.categorical_column_with_hash_bucket("occupation", 100)
    workclass = fc.categorical_column_with_vocabulary_list("workclass", WORKCLASS)
    relationship = fc.categorical_column_with_vocabulary_list("relationship", RELATIONSHIP)
    country = fc.categorical_column_with_hash_bucket("native_country", 1000)
    wide = [age_buckets, education, occupation, workclass, relationship, country,
            fc.crossed_column(["education", "occupation"], 1000),
            fc.crossed_column([age_buckets, "education", "occupation"], 1000)]
    deep = [age, fc.numeric_column("education_num"), fc.numeric_column("hours_per_week"),
            fc.numeric_column("capital_gain", normalizer_fn=lambda g: g / 10000.0),
            fc.indicator_column(workclass), fc.indicator_column(education),
            fc.indicator_column(relationship), fc.embedding_column(occupation, 8),
            fc.embedding_column(country, 8)]
    return wide, deep
