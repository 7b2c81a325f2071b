"""The TF 1.x word2vec_basic tutorial on a toy corpus, in a plain tf.Session: skip-gram
embeddings trained with tf.nn.nce_loss, the Deep-MNIST-style summary logging (a merged
summary op run with the train op, its bytes given to FileWriter.add_summary, and a value
computed in Python written as a tf.Summary), then the nearest words by cosine similarity.

Prints the results as one JSON line.
"""

import collections
import json
import math
import random
import sys

import numpy as np

import estcore.compat.v1 as tf

tf.disable_v2_behavior()

random.seed(0)
np.random.seed(0)  # noqa: NPY002 - the tutorial's global seed
topics = [["king", "queen", "prince", "royal", "crown", "palace"],
          ["cat", "dog", "pet", "puppy", "kitten", "fur"],
          ["car", "road", "engine", "wheel", "drive", "fuel"]]
words = []
for _ in range(3000):
    t = random.choice(topics)
    words.extend(random.sample(t, 4) + random.sample(["the", "a", "of", "and"], 1))

vocabulary_size = 30
count = [['UNK', -1]] + collections.Counter(words).most_common(vocabulary_size - 1)
dictionary = {w: i for i, (w, _) in enumerate(count)}
data = [dictionary.get(w, 0) for w in words]
reverse_dictionary = dict(zip(dictionary.values(), dictionary.keys(), strict=True))
vocabulary_size = len(dictionary)
data_index = 0


def generate_batch(batch_size, num_skips, skip_window):
    global data_index
    batch = np.ndarray(shape=(batch_size), dtype=np.int32)
    labels = np.ndarray(shape=(batch_size, 1), dtype=np.int32)
    span = 2 * skip_window + 1
    buffer = collections.deque(maxlen=span)
    if data_index + span > len(data):
        data_index = 0
    buffer.extend(data[data_index:data_index + span])
    data_index += span
    for i in range(batch_size // num_skips):
        context_words = [w for w in range(span) if w != skip_window]
        words_to_use = random.sample(context_words, num_skips)
        for j, context_word in enumerate(words_to_use):
            batch[i * num_skips + j] = buffer[skip_window]
            labels[i * num_skips + j, 0] = buffer[context_word]
        if data_index == len(data):
            buffer.extend(data[0:span])
            data_index = span
        else:
            buffer.append(data[data_index])
            data_index += 1
    data_index = (data_index + len(data) - span) % len(data)
    return batch, labels


batch_size, embedding_size, skip_window, num_skips, num_sampled = 64, 16, 2, 2, 8
valid_examples = np.array([dictionary[w] for w in ["king", "cat", "car"]], dtype=np.int32)

graph = tf.Graph()
with graph.as_default():
    tf.set_random_seed(1)
    train_inputs = tf.placeholder(tf.int32, shape=[batch_size])
    train_labels = tf.placeholder(tf.int32, shape=[batch_size, 1])
    valid_dataset = tf.constant(valid_examples, dtype=tf.int32)
    embeddings = tf.Variable(tf.random_uniform([vocabulary_size, embedding_size], -1.0, 1.0))
    embed = tf.nn.embedding_lookup(embeddings, train_inputs)
    nce_weights = tf.Variable(tf.truncated_normal([vocabulary_size, embedding_size],
                                                  stddev=1.0 / math.sqrt(embedding_size)))
    nce_biases = tf.Variable(tf.zeros([vocabulary_size]))
    loss = tf.reduce_mean(tf.nn.nce_loss(weights=nce_weights, biases=nce_biases,
                                         labels=train_labels, inputs=embed,
                                         num_sampled=num_sampled, num_classes=vocabulary_size))
    optimizer = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
    normalized_embeddings = embeddings / norm
    valid_embeddings = tf.nn.embedding_lookup(normalized_embeddings, valid_dataset)
    similarity = tf.matmul(valid_embeddings, normalized_embeddings, transpose_b=True)
    tf.summary.scalar("nce_loss", loss)
    merged = tf.summary.merge_all()
    init = tf.global_variables_initializer()

writer = tf.summary.FileWriter(sys.argv[1], graph)
first = last = None
with tf.Session(graph=graph) as session:
    init.run()
    average_loss = 0
    for step in range(3001):
        batch_inputs, batch_labels = generate_batch(batch_size, num_skips, skip_window)
        summary, _, loss_val = session.run([merged, optimizer, loss],
                                           {train_inputs: batch_inputs,
                                            train_labels: batch_labels})
        if step % 500 == 0:
            writer.add_summary(summary, step)
        average_loss += loss_val
        if step % 1000 == 0:
            mean_loss = average_loss / (1000 if step else 1)
            first = mean_loss if first is None else first
            last = mean_loss
            writer.add_summary(tf.Summary(value=[tf.Summary.Value(
                tag="average_loss", simple_value=mean_loss)]), step)
            average_loss = 0
    sim = similarity.eval()
    nearest = {}
    for i, w in enumerate(["king", "cat", "car"]):
        nearest[w] = [reverse_dictionary[k] for k in (-sim[i, :]).argsort()[1:4]]
writer.close()
same_topic = sum(sum(n in t for n in nearest[w]) for t in topics for w in nearest if w in t)
print(json.dumps({"first_loss": float(first), "last_loss": float(last),
                  "nearest": nearest, "same_topic": same_topic}))
