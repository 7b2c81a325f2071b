"""A TF 1.x low-level program: tf.get_variable weights, a hand-made global step
variable, a tf.train.Saver, tf.train.MonitoredTrainingSession with StopAtStepHook and
a LoggingTensorHook, then a plain tf.Session that restores the last checkpoint.
Logistic regression on generated data; prints the final accuracy as one JSON line.
"""

import json

import numpy as np

import estcore.compat.v1 as tf


def main(argv):
    ckpt_dir = argv[1]
    rng = np.random.RandomState(0)
    x_data = rng.normal(size=(2000, 5)).astype(np.float32)
    true_w = np.array([[1.5], [-2.0], [0.5], [0.0], [1.0]], np.float32)
    y_data = (x_data.dot(true_w) + 0.1 * rng.normal(size=(2000, 1)) > 0).astype(np.float32)

    with tf.Graph().as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, [None, 5], name="x")
        y = tf.placeholder(tf.float32, [None, 1], name="y")
        with tf.variable_scope("logreg"):
            w = tf.get_variable("weights", [5, 1], initializer=tf.zeros_initializer())
            b = tf.get_variable("bias", [1], initializer=tf.zeros_initializer())
        logits = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits),
                              name="loss")
        global_step = tf.Variable(0, name="global_step", trainable=False, dtype=tf.int64)
        tf.add_to_collection(tf.GraphKeys.GLOBAL_STEP, global_step)
        train_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss, global_step=global_step)
        accuracy = tf.reduce_mean(tf.to_float(tf.equal(tf.to_float(logits > 0), y)))

        hooks = [tf.train.StopAtStepHook(last_step=300),
                 tf.train.LoggingTensorHook({"loss": "loss:0", "step": global_step},
                                            every_n_iter=100)]
        scaffold = tf.train.Scaffold(saver=tf.train.Saver(max_to_keep=2))
        with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt_dir, hooks=hooks,
                                               scaffold=scaffold,
                                               save_checkpoint_steps=100) as sess:
            i = 0
            while not sess.should_stop():
                lo = (i * 100) % 2000
                sess.run(train_op, feed_dict={x: x_data[lo:lo + 100], y: y_data[lo:lo + 100]})
                i += 1

        saver = tf.train.Saver()
        with tf.Session() as sess:
            saver.restore(sess, tf.train.latest_checkpoint(ckpt_dir))
            acc, step = sess.run([accuracy, global_step], {x: x_data, y: y_data})
            print(json.dumps({"accuracy": float(acc), "global_step": int(step),
                              "steps_run": i,
                              "checkpoints": len(tf.train.get_checkpoint_state(
                                  ckpt_dir).all_model_checkpoint_paths)}))


if __name__ == "__main__":
    tf.logging.set_verbosity(tf.logging.INFO)
    tf.app.run(main)
