"""Check-digit algorithms used by identity documents and reference numbers."""

# Verhoeff's dihedral-group tables (D5): multiplication, permutation and inverse.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_valid(number: str) -> bool:
    """Return whether a string of digits ends in a correct Verhoeff check digit."""
    if not number.isdigit():
        return False
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = _D[check][_P[position % 8][int(digit)]]
    return check == 0


def verhoeff_digit(number: str) -> str:
    """Return the Verhoeff check digit to append to a string of digits."""
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = _D[check][_P[(position + 1) % 8][int(digit)]]
    return str(_INV[check])


def luhn_valid(number: str) -> bool:
    """Return whether a string of digits ends in a correct Luhn check digit."""
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


LUHN_MOD_N_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def luhn_mod_n_character(text: str, alphabet: str = LUHN_MOD_N_ALPHABET) -> str:
    """Return the Luhn mod N check character of a text's characters that are in the alphabet."""
    n = len(alphabet)
    total = 0
    factor = 2
    # From the right, doubling every second code point, as Luhn does for digits.
    for char in reversed([c for c in text.upper() if c in alphabet]):
        addend = factor * alphabet.index(char)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return alphabet[(n - total % n) % n]


def luhn_mod_n_valid(text: str, alphabet: str = LUHN_MOD_N_ALPHABET) -> bool:
    """Return whether a text ends with the right Luhn mod N check character."""
    return len(text) > 1 and luhn_mod_n_character(text[:-1], alphabet) == text[-1].upper()
