// Lotocar service worker: shows Web Push notifications when the app is
// closed, and opens the app where the notification points.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { title: "Lot'ô car", body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Lot'ô car", {
      body: data.body || "",
      tag: data.id,
      data: { url: data.url || "/" },
    })
  );
});

// The notification's link opens its screen (`/bookings/…` leads to the
// booking once signed in).
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
