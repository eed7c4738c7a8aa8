"""The byte pattern both sides of the interop tests send and check (test/interop-python.test.ts has
the same function): message i of n bytes. The j // 251 term keeps it from repeating every 256
bytes, so that a lost, doubled or shifted chunk shows as a mismatch."""


def pattern(i: int, n: int) -> bytes:
    return bytes((j + 31 * i + j // 251) & 0xFF for j in range(n))
