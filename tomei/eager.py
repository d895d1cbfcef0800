"""``tf.function``: tomei has no graph mode, so a decorated function runs Python as written.

TensorFlow's ``@tf.function`` traces a Python function into a graph and runs the graph.
tomei always computes eagerly with NumPy, so the decorated function simply runs, line by
line, every time it is called: Python ``if``/``for``, ``print`` and NumPy calls behave as
in plain Python (what TensorFlow gives with ``tf.config.run_functions_eagerly(True)``).
The numbers are the same; only the speed-up of a compiled graph is missing.
"""
import functools


def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_implements=None,
             experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None,
             experimental_follow_type_hints=None, name=None):
    """Decorator: returns ``func`` wrapped so it runs eagerly on every call (no tracing).

    Usable as ``@function`` or ``@function(...)``. ``autograph`` (turning Python control
    flow into graph ops) and ``reduce_retracing`` (fewer traces) describe tracing, which
    never happens here, so any value gives the same result; ``name`` is kept as the
    wrapper's ``__name__``.

    Raises:
        NotImplementedError: ``input_signature`` is given (tomei does not check call
            signatures), ``jit_compile=True`` (no XLA), or any ``experimental_*`` option.
    """
    if input_signature is not None:
        raise NotImplementedError("tomei.function does not support input_signature: tomei has "
                                  "no graph tracing. Remove input_signature=...")
    if jit_compile:
        raise NotImplementedError("tomei.function(jit_compile=True): tomei has no XLA compiler; "
                                  "remove jit_compile (the function runs eagerly).")
    experimental = {"experimental_implements": experimental_implements,
                    "experimental_autograph_options": experimental_autograph_options,
                    "experimental_attributes": experimental_attributes,
                    "experimental_relax_shapes": experimental_relax_shapes,
                    "experimental_compile": experimental_compile,
                    "experimental_follow_type_hints": experimental_follow_type_hints}
    given = [k for k, v in experimental.items() if v is not None]
    if given:
        raise NotImplementedError(f"tomei.function does not support {', '.join(given)}.")

    def decorate(f):
        @functools.wraps(f)
        def run_eagerly(*args, **kwargs):
            return f(*args, **kwargs)
        if name is not None:
            run_eagerly.__name__ = name
        run_eagerly.python_function = f  # as TensorFlow's Function object exposes it
        return run_eagerly

    if func is None:
        return decorate
    if not callable(func):
        raise TypeError(f"tomei.function expects a function to decorate; received "
                        f"{type(func).__name__}.")
    return decorate(func)

