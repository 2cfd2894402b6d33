#include "model/projection.h"

namespace trident {

bool ProjectionGroup::mixed_types() const {
  for (const RowSegment& s : fused.segments)
    if (s.type != fused.segments.front().type) return true;
  return false;
}

}  // namespace trident
