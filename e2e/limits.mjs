// The sign-in limits count each person of the web shell by the address
// of her browser, not by the shell's own (the shell calls the API from
// this server): the server trusts the local proxy (127.0.0.1) and takes
// the right-most forwarded address that is not it. Each browser context
// below stands for one person behind that proxy (its X-Forwarded-For
// header is what the proxy would add). Two sign-ins per address and hour
// (LOTOCAR_SIGNIN_PER_IP_HOUR=4: a code asked and a code given each
// count): the third from one address is refused in French, while a person
// at another address still signs in, and writing a forged first hop in
// front of the address does not open a new bucket.
// Usage: node limits.mjs <base-url> <screenshot-dir>
import { launch, newPage, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots, "limits-");

const behind = (address) => newPage(browser, { extraHTTPHeaders: { "X-Forwarded-For": address } });

async function signOut(page) {
  await page.context().clearCookies();
}

async function refused(page, contact) {
  await page.goto(base + "/");
  await page.waitForSelector("#contact", { timeout });
  await page.fill("#contact", contact);
  await page.click("#ask-code");
  const alert = page.locator(".flash.alert[role=alert]", { hasText: "Trop de demandes de connexion depuis cette adresse" });
  try {
    await alert.waitFor({ timeout });
  } catch (error) {
    await shot(page, "not-refused");
    throw error;
  }
  if (await page.locator("#code").count()) throw new Error("a code was sent beyond the limit");
}

try {
  // A France Services office: two people sign in, then a third is refused.
  const office = await behind("203.0.113.10");
  await signIn(base, office, "+33611000001");
  await signOut(office);
  await signIn(base, office, "+33611000002");
  await signOut(office);
  await refused(office, "+33611000003");
  await shot(office, "office-refused");

  // Someone at home, elsewhere in the département: not locked out.
  const home = await behind("198.51.100.20");
  await signIn(base, home, "+33611000004");
  await shot(home, "home-signed-in");

  // The office again, with a forged hop written in front: still refused.
  const forged = await behind("192.0.2.99, 203.0.113.10");
  await refused(forged, "+33611000005");

  console.log("limits ok");
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
