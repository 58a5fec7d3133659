"""What the database was sent, for tests that count or read the SQL a piece of the app runs."""

from contextlib import contextmanager

from sqlalchemy import event


class StatementsSent(list):
    """The SQL statements sent, in order (as the driver got them); ``parameters[i]`` are those of the i-th."""

    def __init__(self):
        super().__init__()
        self.parameters: list = []


@contextmanager
def statements_sent(engine):
    """Every statement ``engine``'s connections send inside the block (the test fixture's SAVEPOINTs too: a
    test that counts leaves them out itself)."""
    sent = StatementsSent()

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        sent.append(statement)
        sent.parameters.append(parameters)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
