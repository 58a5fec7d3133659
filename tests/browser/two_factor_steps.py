"""The two-factor steps of a browser login (not a test module): staff meet enrolment on their first
login, then type a code every time. Shared by the browser tests that sign staff in."""

import time

import pyotp

#: The TOTP secret each user enrolled in this session (read from the enrolment page, as a person would).
TOTP_SECRETS: dict[str, str] = {}
_LAST_STEP: dict[str, int] = {}


def totp_code(email: str) -> str:
    """The next code of ``email``'s authenticator that the app has not seen yet (a code works once: two
    logins within 30 seconds take the next period's code, valid one step ahead, or wait for it)."""
    while True:
        current = int(time.time()) // 30
        step = max(current, _LAST_STEP.get(email, -1) + 1)
        if step <= current + 1:
            break
        time.sleep(1)
    _LAST_STEP[email] = step
    return pyotp.TOTP(TOTP_SECRETS[email]).generate_otp(step)


def enrol_on_page(page, email: str, password: str) -> list[str]:
    """On the enrolment page: read the secret shown as text, confirm with the password and a code; returns
    the recovery codes shown once, and leaves the page where "continuar" goes."""
    TOTP_SECRETS[email] = page.get_by_test_id("two-factor-secret").inner_text().replace(" ", "")
    _LAST_STEP.pop(email, None)
    page.fill("#f-password", password)
    page.fill("#f-code", totp_code(email))
    page.get_by_role("button", name="Ativar", exact=True).click()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    page.get_by_test_id("codes-continue").click()
    return codes


def pass_two_factor(page, email: str, password: str) -> None:
    """After the password step: type the code, or enrol when the account must and has not yet."""
    page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"))
    if "/login/verificacao" in page.url:
        page.fill("#code", totp_code(email))
        page.get_by_role("button", name="Verificar").click()
        page.wait_for_url(lambda url: "/login" not in url)
    elif "/verificacao-em-duas-etapas/ativar" in page.url:
        enrol_on_page(page, email, password)
