// Integer fen to "¥28.00", without floating point (prices are integer fen end to end).
function yuan(fen) {
  const cents = String(fen % 100);
  return '¥' + Math.floor(fen / 100) + '.' + (cents.length < 2 ? '0' + cents : cents);
}

module.exports = { yuan };
