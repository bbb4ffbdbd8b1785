/**
 * The Caffe frontend: {@link fcn.frontend.caffe.CaffeImporter} turns a prototxt and/or
 * caffemodel (V1 or V2) into the fcn IR, matching BVLC Caffe's TEST-phase forward pass.
 *
 * <p><b>To add a layer type: add one registration in the file of its kind.</b> Each Caffe
 * layer type is one {@link fcn.frontend.caffe.LayerConverter} in {@code ConvPoolLayers},
 * {@code DenseLayers}, {@code ElementwiseLayers}, {@code ShapeLayers} or {@code NormLayers}:
 * its V2 type names, how many learned blobs it has (so a caffemodel without them is an error,
 * or random weights are drawn), the variants it refuses (listed together before anything is
 * built), its shape-free range checks (run by {@code LayerChecks}), and how it builds nodes
 * through the small {@link fcn.frontend.caffe.LayerContext} API. {@code LayerRegistry}
 * collects the files (a new kind of layer is a new file plus one line there); data and
 * training-only layers are classified in {@code DataLayers}. {@code GraphBuilder} keeps the
 * graph bookkeeping (blob versions, in-place layers, names, inputs, outputs) and knows no
 * layer type; Caffe's size arithmetic lives in {@code CaffeShapes}. V1 nets need nothing per
 * layer: {@code NetUpgrader} maps Caffe's fixed V1 enum to the V2 names first.
 *
 * <p>Decisions worth knowing (each checked against real Caffe through JavaCPP in the tests):
 * <ul>
 *   <li><b>Pooling.</b> Caffe rounds up ({@code ceil((H+2p-k)/s)+1}) and drops a last window
 *       that would start at or past {@code H+p}. That equals a floor-mode ONNX pool with begin
 *       pad {@code p} and end pad {@code p+e}, {@code e = min(s, k-p) - 1}, for every H (Caffe
 *       keeps windows starting below {@code H+2p-k+min(s,k-p)}), so no runtime's ceil_mode
 *       rule matters and the graph stays exact when H and W are dynamic. MAX uses MaxPool with
 *       those pads. AVE divides by the window clipped to {@code H+p} (padding counted, the ceil
 *       overflow not): an explicit zero Pad of {@code p} then AveragePool with end pad
 *       {@code e} and count_include_pad=0 has exactly that divisor (ONNX Runtime's
 *       count_include_pad=1 divides by the whole kernel, overflow included). Verified for MAX
 *       and AVE, k 2..4, s 1..3, every p &lt; k, 6 sizes each, with symbolic H/W. With stride
 *       &gt; kernel and no pad Caffe makes windows wholly outside the input (holding
 *       -FLT_MAX); the import refuses the sizes where that happens. global_pooling is
 *       GlobalMaxPool/GlobalAveragePool.
 *   <li><b>Pooling masks and Upsample</b> (caffe-segnet, in {@code ResizeLayers}): a MAX
 *       pooling's second top is MaxPool's Indices mod H*W, the fork's per-plane index; Upsample
 *       scatters per plane (ScatterElements, axis 2) into zeros, later writes winning as in the
 *       fork. Checked against real Caffe's mask (ties included) and a numpy reference of the
 *       fork (tools/segnet_reference.py). Fork field numbers that BVLC reused (137, 138) are
 *       re-read from a binary caffemodel's embed_param/tile_param bytes. DenseCRF is refused as
 *       post-processing ({@code DataLayers}).
 *   <li><b>Crop</b> is Slice(x, starts=offsets, ends=offsets+Shape(reference)[axis:],
 *       axes=[axis..]): the ends follow the reference at any input size.
 *   <li><b>Deconvolution</b> is ConvTranspose with symmetric pads and no output_padding, whose
 *       output size is Caffe's {@code s(in-1)+d(k-1)+1-2p}; Caffe's C x O/g x kh x kw weights
 *       are ONNX's layout.
 *   <li><b>InnerProduct</b> is Flatten(axis)+Gemm(transB=1, or 0 with transpose), which
 *       {@link fcn.passes.ClassifierHeadPass} rewrites into convolutions.
 *   <li><b>Input shapes</b>: see {@link fcn.frontend.caffe.CaffeImporter}; when the net gives
 *       none, 1 x C x 500 x 500 with C from the first convolution's weights (else 3), and a
 *       weight-shape error then says the size was assumed.
 *   <li><b>Fork layers</b> (checked against tools/caffe-torch-reference.py, an independent
 *       torch interpreter, since BVLC Caffe cannot run them): {@code Interp} is Slice (crop)
 *       + Resize linear align_corners with sizes computed from Shape; the forks' {@code BN}
 *       is PSPNet's (4 blobs) or caffe-segnet's (2 blobs), told apart by their parameters
 *       ({@code PrototxtReader} renames PSPNet's text {@code bn_param}); DeepLab v1's
 *       {@code hole} is dilation (rewritten in the text: its field number is BVLC's
 *       force_nd_im2col).
 *   <li><b>Names</b>: Caffe blob names are value names; an in-place layer's output takes the
 *       blob name and the version it replaces becomes {@code blob/producing-layer}.
 * </ul>
 */
package fcn.frontend.caffe;
