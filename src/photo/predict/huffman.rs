//! JPEG Huffman tables as libjpeg's optimiser builds them (`jpeg_gen_optimal_table`): code
//! lengths from symbol counts, capped at 16 bits, with the all-ones code reserved; and the
//! bits a histogram of symbols costs under them.

/// Bits the symbols of `hist` (counts × `scale`) take under their optimal JPEG Huffman
/// code, and how many symbols the table lists.
pub fn huffman_bits(hist: &[u64], scale: f64) -> (f64, usize) {
    let lengths = code_lengths(hist);
    let bits = hist
        .iter()
        .zip(&lengths)
        .map(|(&n, &l)| n as f64 * f64::from(l))
        .sum::<f64>();
    let used = lengths.iter().filter(|&&l| l > 0).count();
    (bits * scale, used)
}

/// Add one to the code size of every symbol on the chain from `start`; its last symbol.
fn deepen(size: &mut [u32], others: &[Option<usize>], start: usize) -> usize {
    let mut i = start;
    loop {
        size[i] += 1;
        match others[i] {
            Some(o) => i = o,
            None => return i,
        }
    }
}

/// jcHuff `jpeg_gen_optimal_table`: Huffman code lengths with a reserved all-ones code,
/// limited to 16 bits (Annex K.3); 0 for unused symbols.
fn code_lengths(freq: &[u64]) -> Vec<u8> {
    let n = freq.len();
    // Symbol n is the reserved pseudo-symbol with frequency 1.
    let mut f: Vec<u64> = freq.iter().copied().chain([1]).collect();
    let mut size = vec![0u32; n + 1];
    let mut others: Vec<Option<usize>> = vec![None; n + 1];
    let mut live: Vec<usize> = (0..=n).filter(|&i| f[i] > 0).collect();
    loop {
        // The two least frequent live nodes; ties go to the larger index, as libjpeg does.
        let (mut c1, mut c2): (Option<usize>, Option<usize>) = (None, None);
        live.retain(|&i| f[i] > 0);
        for &i in &live {
            if c1.is_none_or(|c| f[i] <= f[c]) {
                c2 = c1;
                c1 = Some(i);
            } else if c2.is_none_or(|c| f[i] <= f[c]) {
                c2 = Some(i);
            }
        }
        let (Some(a), Some(b)) = (c1, c2) else { break };
        f[a] += f[b];
        f[b] = 0;
        // Every symbol under both nodes goes one level deeper; b's chain hangs off a's.
        let end = deepen(&mut size, &others, a);
        others[end] = Some(b);
        deepen(&mut size, &others, b);
    }
    // A tree over 257 symbols is at most 256 deep.
    let mut count = [0u32; 258];
    for &s in &size {
        if s > 0 {
            count[s as usize] += 1;
        }
    }
    // Annex K.3 Adjust_BITS: move codes longer than 16 bits up the tree.
    for i in (17..258).rev() {
        while count[i] > 0 {
            let mut j = i - 2;
            while count[j] == 0 {
                j -= 1;
            }
            count[i] -= 2;
            count[i - 1] += 1;
            count[j + 1] += 2;
            count[j] -= 1;
        }
    }
    // The reserved code is the longest; drop it.
    if let Some(i) = (0..=16).rev().find(|&i| count[i] > 0) {
        count[i] -= 1;
    }
    // Shortest codes to the most frequent symbols.
    let mut order: Vec<usize> = (0..n).filter(|&s| freq[s] > 0).collect();
    order.sort_by(|&a, &b| freq[b].cmp(&freq[a]).then(a.cmp(&b)));
    let mut lengths = vec![0u8; n];
    let mut it = order.into_iter();
    for (len, &k) in count.iter().enumerate().take(17) {
        for _ in 0..k {
            if let Some(s) = it.next() {
                lengths[s] = len as u8;
            }
        }
    }
    lengths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lengths_are_a_prefix_code_within_sixteen_bits() {
        let mut freq = [0u64; 256];
        for (i, f) in freq.iter_mut().enumerate() {
            *f = 1 + (i as u64 * 7919) % 1000;
        }
        let l = code_lengths(&freq);
        assert!(l.iter().all(|&x| (1..=16).contains(&x)));
        // Kraft: the lengths leave room for the reserved code.
        let kraft: f64 = l.iter().map(|&x| 0.5f64.powi(i32::from(x))).sum();
        assert!(kraft < 1.0, "{kraft}");
    }
}
