"""Which names a cell sets to literals (automatic config) and which it computes, from its source."""

from __future__ import annotations

from cellmark.kernel.cell_bindings import analyse


def test_literals_and_computed_names():
    b = analyse(
        "import time\nlr = 0.1\nepochs: int = 10\nhidden = [64, 32]\nopt = {'name': 'adam', 'betas': (0.9, 0.99)}\n"
        "neg = -3\nflag, name = True, 'x'\na = b = None\nt0 = time.time()\nmodel = MLP(hidden)\n"
    )
    assert b.literal == ("lr", "epochs", "hidden", "opt", "neg", "flag", "name", "a", "b")
    assert b.computed == {"time", "t0", "model"}
    assert not b.forced


def test_loop_with_augmented_and_block_bindings_are_computed():
    b = analyse(
        "for step in range(3):\n    loss = step\n    inner = 1\n"
        "with open('f') as fh:\n    pass\ncount = 0\ncount += 1\n"
        "if True:\n    lr = 0.1\ntry:\n    pass\nexcept Exception as err:\n    pass\n"
        "def f():\n    local = 1\nclass K:\n    attr = 2\n[sq for sq in range(3)]\n(w := 5)\ndel hidden\n"
    )
    assert b.literal == ()
    assert b.computed == {"step", "loss", "inner", "fh", "count", "lr", "err", "f", "K", "w", "hidden"}


def test_the_last_binding_in_the_cell_decides():
    assert analyse("lr = 0.1\nlr = lr * 2").computed == {"lr"}
    b = analyse("lr = compute()\nlr = 0.5")
    assert b.literal == ("lr",) and not b.computed


def test_what_is_not_a_literal():
    b = analyse(
        "s = {1, 2}\nby = b'x'\nc = 1j\nexpr = 1 + 2\nname = other\nbig = list(range(3))\nf = f'{x}'\n"
        "cfg['lr'] = 0.1\nobj.attr = 2\nstar, *rest = [1, 2, 3]"
    )
    assert b.literal == ()
    assert b.computed == {"s", "by", "c", "expr", "name", "big", "f", "star", "rest"}


def test_huge_literals_and_bad_source_are_not_config():
    assert analyse("xs = [" + ", ".join(["1"] * 1000) + "]").computed == {"xs"}
    bad = analyse("%time lr = 0.1")
    assert bad.literal == () and bad.computed == frozenset()


def test_the_config_comment_forces_top_level_assignments():
    b = analyse("# cellmark: config\nbatch = 16 * 2\nlr: float = base / 10\nfor i in range(2):\n    j = i")
    assert b.forced and b.assigned == ("batch", "lr")
    assert b.computed == {"batch", "lr", "i", "j"}
    assert not analyse("x = 1  # cellmark: config").forced  # a line of its own
    assert analyse("  #  Cellmark: Config  \ny = 1").forced
