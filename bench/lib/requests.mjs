// The request mix every scenario is loaded with, shared by the load generator and the profiler.

const ORDER_BODY = JSON.stringify({ sku: 'SKU-1234', quantity: 2, note: 'bench' });
const USER_IDS = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * The request mix: each connection cycles through it, so the three routes get a third of the load
 * each. User ids vary (as real traffic does) from a fixed list, so every request is prebuilt and the
 * generator spends nothing on building requests.
 */
export const REQUESTS = USER_IDS.flatMap((id) => [
  { method: 'GET', path: '/hello' },
  { method: 'GET', path: `/users/${id}` },
  {
    method: 'POST',
    path: '/orders',
    headers: { 'content-type': 'application/json' },
    body: ORDER_BODY,
  },
]);
