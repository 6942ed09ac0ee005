import { parseQuantity } from './quantity';

test.each([
  ['1', 1],
  ['100m', 0.1],
  ['0.5', 0.5],
  ['512Mi', 512 * 2 ** 20],
  ['1Gi', 2 ** 30],
  ['128M', 128e6],
  ['1e3', 1000],
  [2, 2],
])('parseQuantity(%j) is %d', (quantity, value) => {
  expect(parseQuantity(quantity)).toBeCloseTo(value);
});

test('fails on what is not a quantity', () => {
  expect(() => parseQuantity('lots')).toThrow('not a Kubernetes quantity: "lots"');
});
